// SPDX-License-Identifier: Apache-2.0
// Parsing cost must grow linearly with the document: a container's members are appended in
// place, never by copying everything read so far (a 10 MB reply from a hostile backend with
// 300,000 elements must not cost minutes of a loop's time).
import Testing
import TollgateTestSupport
@testable import TollgateCore

@Suite struct JSONValueScaleTests {
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private func document(_ count: Int, object: Bool) -> [UInt8] {
        var text: [UInt8] = Array((object ? "{" : "[").utf8)
        for i in 0..<count {
            if i > 0 { text.append(UInt8(ascii: ",")) }
            text += Array((object ? "\"k\(i)\":0" : "0").utf8)
        }
        text += Array((object ? "}" : "]").utf8)
        return text
    }

    @Test(arguments: [false, true])
    func parseTimeIsLinearInTheMemberCount(object: Bool) throws {
        let small = document(5_000, object: object)
        let large = document(50_000, object: object)
        var value = JSONValue.null
        let t1 = try seconds { value = try JSONValue.parse(small) }
        let t2 = try seconds { value = try JSONValue.parse(large) }
        #expect((object ? value.objectValue?.count : value.arrayValue?.count) == 50_000)
        // Ten times the members: about ten times the time, not a hundred (slack for noise).
        #expect(t2 < max(t1, 0.01) * 30, "5k members: \(t1) s, 50k members: \(t2) s")
    }
}
