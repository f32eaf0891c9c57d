// SPDX-License-Identifier: Apache-2.0
// Which of a model's candidates one request has tried, by position: one machine word for the
// first 64 (every model in practice), an array only beyond — so a request's route costs no
// allocation for it.

struct CandidateMarks {
    let count: Int
    private var bits: UInt64 = 0
    private var more: [Bool] = []

    init(count: Int) {
        self.count = max(0, count)
        if self.count > 64 { more = Array(repeating: false, count: self.count - 64) }
    }

    subscript(position: Int) -> Bool {
        get {
            guard position >= 0, position < count else { return false }
            if position < 64 { return bits & (1 << UInt64(position)) != 0 }
            return more[position - 64]
        }
        set {
            guard position >= 0, position < count else { return }
            if position < 64 {
                if newValue { bits |= 1 << UInt64(position) } else { bits &= ~(1 << UInt64(position)) }
            } else {
                more[position - 64] = newValue
            }
        }
    }

    /// Whether some candidate is not marked.
    var hasUnmarked: Bool {
        let low = min(count, 64)
        let full: UInt64 = low == 64 ? .max : (1 << UInt64(low)) &- 1
        return bits & full != full || more.contains(false)
    }
}
