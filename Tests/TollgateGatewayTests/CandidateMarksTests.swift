// SPDX-License-Identifier: Apache-2.0
// A request's tried candidates: marks by position in one word up to 64 and beyond it, whether
// any is left unmarked, and positions outside the model ignored (never a trap).
import Testing
@testable import TollgateGateway

struct CandidateMarksTests {
    @Test(arguments: [0, 1, 3, 63, 64, 65, 130])
    func marksEveryPositionAndKnowsWhenNoneIsLeft(count: Int) {
        var marks = CandidateMarks(count: count)
        #expect(marks.hasUnmarked == (count > 0))
        for position in 0..<count {
            #expect(!marks[position])
            marks[position] = true
            #expect(marks[position])
            #expect(marks.hasUnmarked == (position < count - 1))
        }
        if count > 0 {
            marks[count - 1] = false
            #expect(marks.hasUnmarked && !marks[count - 1])
        }
        // Outside the model: read false, written nowhere.
        marks[-1] = true
        marks[count] = true
        #expect(!marks[-1] && !marks[count])
    }
}
