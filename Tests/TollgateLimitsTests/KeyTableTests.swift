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
}
