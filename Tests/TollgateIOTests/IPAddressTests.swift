// SPDX-License-Identifier: Apache-2.0
import Glibc
import Testing
import TollgateIO

struct IPAddressTests {
    @Test func parsesAndPrintsBothFamilies() {
        #expect(IPAddress(text: "10.1.2.3")?.description == "10.1.2.3")
        #expect(IPAddress(text: "10.1.2.3")?.isIPv4 == true)
        #expect(IPAddress(text: "2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress(text: "::ffff:10.1.2.3") == IPAddress(text: "10.1.2.3"))
        for bad in ["", "10.1.2", "10.1.2.3.4", "example.com", "10.1.2.3:80", "[::1]", " 10.1.2.3"] {
            #expect(IPAddress(text: bad) == nil, "\(bad)")
        }
    }

    @Test func blocksMatchByPrefix() throws {
        let v4 = try #require(IPBlock(text: "10.0.0.0/8"))
        #expect(v4.contains(IPAddress(text: "10.200.1.1")!))
        #expect(!v4.contains(IPAddress(text: "11.0.0.1")!))
        #expect(!v4.contains(IPAddress(text: "::a00:1")!))  // not the v4-mapped form
        let one = try #require(IPBlock(text: "192.168.1.7"))
        #expect(one.contains(IPAddress(text: "192.168.1.7")!))
        #expect(!one.contains(IPAddress(text: "192.168.1.8")!))
        let v6 = try #require(IPBlock(text: "fd00::/8"))
        #expect(v6.contains(IPAddress(text: "fd12:3456::1")!))
        #expect(!v6.contains(IPAddress(text: "fe80::1")!))
        let odd = try #require(IPBlock(text: "2001:db8::/70"))
        #expect(odd.contains(IPAddress(text: "2001:db8::3ff:ffff:ffff:ffff")!))
        #expect(!odd.contains(IPAddress(text: "2001:db8:0:0:400::")!))
        #expect(IPBlock(text: "0.0.0.0/0")!.contains(IPAddress(text: "8.8.8.8")!))
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "x/8"] {
            #expect(IPBlock(text: bad) == nil, "\(bad)")
        }
    }

    /// The hand-written IPv4 formatting agrees with inet_ntop, octet edges included.
    @Test func formatsIPv4AsInetNtop() {
        let octets: [UInt32] = [0, 1, 9, 10, 11, 99, 100, 101, 199, 200, 249, 250, 255]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var samples: [UInt32] = []
        for a in octets { for b in octets { samples.append(a << 24 | b << 16 | (b ^ a) << 8 | a) } }
        for _ in 0..<2000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            samples.append(UInt32(truncatingIfNeeded: state >> 32))
        }
        for v4 in samples {
            var addr = in_addr(s_addr: v4.bigEndian)
            var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
            let expected = String(cString: buffer)
            let address = IPAddress(text: expected)
            #expect(address?.description == expected)
        }
    }
}
