// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateGateway
import TollgateIO

struct ClientAddressTests {
    let proxy = IPAddress(text: "10.0.0.2")!
    let trusted = [IPBlock(text: "10.0.0.0/8")!]

    @Test func untrustedPeerIsTheClientWhateverItClaims() {
        let peer = IPAddress(text: "203.0.113.9")!
        #expect(ClientAddress.resolve(peer: peer, forwardedFor: "1.2.3.4", trusted: trusted) == peer)
        #expect(ClientAddress.resolve(peer: proxy, forwardedFor: "1.2.3.4", trusted: []) == proxy)
    }

    @Test func trustedPeerNamesTheRightmostUntrustedHop() {
        #expect(ClientAddress.resolve(peer: proxy, forwardedFor: "1.2.3.4", trusted: trusted).description == "1.2.3.4")
        // A client that writes its own X-Forwarded-For cannot pick its address: the hop our
        // proxy appended is the rightmost untrusted one.
        #expect(ClientAddress.resolve(peer: proxy, forwardedFor: "6.6.6.6, 1.2.3.4, 10.0.0.7",
                                      trusted: trusted).description == "1.2.3.4")
        // Garbage stops the walk at the last address that parsed.
        #expect(ClientAddress.resolve(peer: proxy, forwardedFor: "1.2.3.4, junk, 10.0.0.7",
                                      trusted: trusted).description == "10.0.0.7")
        #expect(ClientAddress.resolve(peer: proxy, forwardedFor: nil, trusted: trusted) == proxy)
    }
}
