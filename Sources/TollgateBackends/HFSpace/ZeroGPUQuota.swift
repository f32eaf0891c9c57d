// SPDX-License-Identifier: Apache-2.0
// Recognises a ZeroGPU quota error in a Gradio error event and reads when to try again.
// ZeroGPU (PyPI `spaces`, spaces/zero/client.py schedule()) raises every refusal as
// gr.Error(message, title=…); Gradio ≥ 6.13 passes both to `/call` clients in the `error`
// event (backend-protocols.md §1.2, §1.5). Texts, current and older:
//   title "ZeroGPU quota exceeded",
//     "You have exceeded your free ZeroGPU quota (60s requested vs. 0s left). Try again in 2:05:11. …"
//     "You have exceeded your ZeroGPU runs limit. …"
//     "Space app has reached its GPU limit. …"
//   older: "You have exceeded your GPU quota (46s left vs. 60s requested). … or retry in 0:09:48."
// The wait is Python's str(timedelta): `H:MM:SS`, `N day(s), H:MM:SS`, maybe `.ffffff`.
// Pure string work: no regex engine, no trap on any input.

struct ZeroGPUQuota: Equatable, Sendable {
    /// The error's text, tags stripped, for the 503 and the backend's status.
    var reason: String
    /// How long until the quota allows another call, when the message says.
    var retryAfter: Duration?

    /// Longest wait believed (a day's quota resets within 24 h; a bigger number is noise).
    static let maxWait = Duration.seconds(48 * 3600)
    /// Longest reason kept.
    static let maxReasonBytes = 512

    /// The quota error in an error event's `title` and `message`, or nil when it is another
    /// error (including the other ZeroGPU errors: a queue timeout or an illegal duration are
    /// failures of this call, not a quota to wait out).
    static func parse(title: String?, message: String?) -> ZeroGPUQuota? {
        let text = stripTags(message ?? "")
        let lower = asciiLowercased(text)
        let titleLower = asciiLowercased(title ?? "")
        let isQuota = titleLower.contains("zerogpu quota exceeded")
            || lower.contains("zerogpu quota exceeded")
            || matchesExceededQuota(lower)
            || lower.contains("zerogpu runs limit")
            || lower.contains("reached its gpu limit")
        guard isQuota else { return nil }
        var reason = text.isEmpty ? (title ?? "ZeroGPU quota exceeded") : text
        if let title, !title.isEmpty, !asciiLowercased(reason).contains(titleLower) {
            reason = title + ": " + reason
        }
        if reason.utf8.count > maxReasonBytes {
            reason = String(decoding: reason.utf8.prefix(maxReasonBytes), as: UTF8.self)
        }
        return ZeroGPUQuota(reason: reason, retryAfter: wait(in: lower))
    }

    /// "exceeded your … quota" (any words between, as in "exceeded your free ZeroGPU quota").
    private static func matchesExceededQuota(_ lower: String) -> Bool {
        guard let start = lower.firstRange(of: "exceeded your ") else { return false }
        return lower[start.upperBound...].contains("quota")
    }

    /// The duration after "try again in " or "retry in ".
    static func wait(in lower: String) -> Duration? {
        for marker in ["try again in ", "retry in "] {
            guard let range = lower.firstRange(of: marker) else { continue }
            if let seconds = timedeltaSeconds(Array(lower[range.upperBound...].utf8)) {
                return min(.seconds(seconds), maxWait)
            }
        }
        return nil
    }

    /// Python's str(timedelta) at the start of `bytes`: `[D day[s], ]H:MM:SS[.ffffff]`, in whole
    /// seconds rounded up (waiting a fraction longer is harmless; calling early is not).
    static func timedeltaSeconds(_ bytes: [UInt8]) -> Int64? {
        var index = 0
        func number(minDigits: Int = 1, maxDigits: Int) -> Int64? {
            var value: Int64 = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, digits < maxDigits {
                value = value * 10 + Int64(bytes[index] - 0x30)
                digits += 1
                index += 1
            }
            return digits < minDigits ? nil : value
        }
        func expect(_ text: String) -> Bool {
            let want = Array(text.utf8)
            guard index + want.count <= bytes.count, Array(bytes[index..<index + want.count]) == want else { return false }
            index += want.count
            return true
        }
        guard let first = number(maxDigits: 9) else { return nil }
        var days: Int64 = 0
        var hours = first
        if expect(" day") {
            days = first
            _ = expect("s")
            guard expect(", "), let h = number(maxDigits: 2) else { return nil }
            hours = h
        }
        guard expect(":"), let minutes = number(minDigits: 2, maxDigits: 2), expect(":"),
              let seconds = number(minDigits: 2, maxDigits: 2),
              minutes < 60, seconds < 60, days < 10_000, hours < 1_000_000 else { return nil }
        var fraction = false
        if expect("."), number(maxDigits: 6) != nil { fraction = true }
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds + (fraction ? 1 : 0)
    }

    /// `text` without HTML tags (ZeroGPU links its advice with `<a href=…>` on Gradio ≥ 4.39),
    /// whitespace runs collapsed and ends trimmed.
    static func stripTags(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var inTag = false
        var lastWasSpace = true
        for byte in text.utf8 {
            if inTag {
                if byte == UInt8(ascii: ">") { inTag = false }
                continue
            }
            if byte == UInt8(ascii: "<") {
                inTag = true
                continue
            }
            let isSpace = byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
            if isSpace {
                if !lastWasSpace { out.append(0x20) }
                lastWasSpace = true
            } else {
                out.append(byte)
                lastWasSpace = false
            }
        }
        while out.last == 0x20 { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
