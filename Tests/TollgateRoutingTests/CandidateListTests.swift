// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateRouting

struct CandidateListTests {
    @Test func configOrderCappedByAttempts() {
        var list = CandidateList(order: [2, 0, 1], attempts: 2)
        let picked = [list.next(), list.next(), list.next()]
        #expect(picked == [2, 0, nil])
        #expect(list.attemptsMade == 2)
    }

    @Test func attemptsAreAtLeastOneAndAtMostTheCandidates() {
        var none = CandidateList(order: [], attempts: 3)
        let fromNone = none.next()
        #expect(none.maxAttempts == 0 && fromNone == nil)
        var zero = CandidateList(order: [4, 5], attempts: 0)
        let fromZero = [zero.next(), zero.next()]
        #expect(fromZero == [4, nil])
        #expect(CandidateList(order: [1, 2], attempts: 9).maxAttempts == 2)
    }

    @Test func ineligibleCandidatesAreSkippedWithoutCostingAnAttempt() {
        var list = CandidateList(order: [0, 1, 2, 3], attempts: 2)
        let picked = [list.next { $0 != 0 }, list.next { $0 != 2 }, list.next()]
        #expect(picked == [1, 3, nil])
        var allDown = CandidateList(order: [0, 1], attempts: 2)
        let fromAllDown = allDown.next { _ in false }
        #expect(fromAllDown == nil)
        #expect(allDown.attemptsMade == 0)
    }
}
