// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
import TollgateLimits

struct KeyTableTests {
    private let table = KeyTable(users: [UserPlan(name: "alice", allowedModels: ["m"]), UserPlan(name: "bob", allowedModels: nil)],
                                 keys: [KeyPlan(digest: SHA256.hash(utf8: "tg-alice-key"), user: 0, keyID: "abcd1234"),
                                        KeyPlan(digest: SHA256.hash(utf8: "tg-bob-key"), user: 1, keyID: "0000beef"),
                                        KeyPlan(digest: SHA256.hash(utf8: "tg-orphan"), user: 7, keyID: "deadbeef")])

    @Test func authenticatesByDigestOnly() {
        #expect(table.authenticate(key: "tg-alice-key")?.user.name == "alice")
        #expect(table.authenticate(key: "tg-alice-key")?.keyID == "abcd1234")
        #expect(table.authenticate(key: "tg-bob-key")?.user.name == "bob")
        #expect(table.authenticate(key: "tg-alice-kez") == nil)
        #expect(table.authenticate(key: "") == nil)
        // The digest itself is not a key.
        #expect(table.authenticate(key: SHA256.hex(SHA256.hash(utf8: "tg-alice-key"))) == nil)
    }

    @Test func aKeyOfAnUnknownUserIsRefusedNotATrap() {
        #expect(table.authenticate(key: "tg-orphan") == nil)
    }

    @Test func modelAllowList() {
        #expect(table.users[0].mayUse("m") && !table.users[0].mayUse("n"))
        #expect(table.users[1].mayUse("anything"))
    }

    @Test func theAdminKeyIsToldApartFromUserKeys() {
        let withAdmin = KeyTable(users: table.users,
                                 keys: [KeyPlan(digest: SHA256.hash(utf8: "tg-alice-key"), user: 0, keyID: "abcd1234")],
                                 adminDigest: SHA256.hash(utf8: "tg-admin-key"))
        #expect(withAdmin.hasAdminKey)
        #expect(withAdmin.classify(key: "tg-admin-key") == .admin)
        #expect(withAdmin.classify(key: "tg-alice-key") == .user)
        #expect(withAdmin.classify(key: "tg-admin-kez") == .unknown)
        #expect(withAdmin.classify(key: "") == .unknown)
        // The admin key is no user's key.
        #expect(withAdmin.authenticate(key: "tg-admin-key") == nil)
        // No admin key configured: nothing is the admin, not even an empty key.
        #expect(!table.hasAdminKey)
        #expect(table.classify(key: "") == .unknown)
        #expect(table.classify(key: "tg-alice-key") == .user)
    }
}
