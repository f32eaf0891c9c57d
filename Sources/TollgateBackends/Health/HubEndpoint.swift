// SPDX-License-Identifier: Apache-2.0
// The Hugging Face Hub API's base, where a Space's runtime, pause and restart calls go (SPEC §7:
// the only origin besides the backends' own, and the only one a Space's token goes to besides
// the Space). `HF_ENDPOINT` is huggingface_hub's own variable for a private or mirror Hub
// (huggingface_hub constants.py `ENDPOINT`), which also lets the tests point it at a fake.
import Glibc

public struct HubEndpoint: Sendable, Equatable {
    /// The Hub's base URL without trailing slashes, e.g. `https://huggingface.co`.
    public var baseURL: String

    public static let defaultBaseURL = "https://huggingface.co"

    public init(baseURL: String) {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = String(base)
    }

    /// `HF_ENDPOINT` when set and not empty, else https://huggingface.co. An invalid value is
    /// kept (not silently replaced by the public Hub): every call then fails with a clear text.
    public static func fromEnvironment() -> HubEndpoint {
        from(environmentValue: getenv("HF_ENDPOINT").map { String(cString: $0) })
    }

    /// What `fromEnvironment` makes of the variable's value (nil: unset).
    public static func from(environmentValue value: String?) -> HubEndpoint {
        guard let value, !value.isEmpty else { return HubEndpoint(baseURL: defaultBaseURL) }
        return HubEndpoint(baseURL: value)
    }

    /// An http(s) URL the OriginPolicy accepts (no userinfo, no odd bytes), without a query or
    /// fragment (an API path is appended to it).
    public var isValid: Bool {
        OriginPolicy.origin(of: baseURL) != nil && !baseURL.contains("?") && !baseURL.contains("#")
    }

    /// `{base}/api/spaces/{space}/{operation}`; nil when the base or the space id is not valid.
    public func spaceURL(_ space: String, _ operation: String) -> String? {
        guard isValid, HubEndpoint.isValidSpaceID(space) else { return nil }
        return baseURL + "/api/spaces/" + space + "/" + operation
    }

    /// `owner/name` as the Hub spells repo ids (huggingface_hub `validate_repo_id`): each part 1–96
    /// of letters, digits, `-`, `_`, `.`, starting and ending with a letter, digit or `_`, no `--`
    /// or `..`. Checked before it becomes part of a URL: nothing can add a path, query or host.
    public static func isValidSpaceID(_ space: String) -> Bool {
        let parts = space.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        for part in parts {
            guard (1...96).contains(part.count), let first = part.first, let last = part.last,
                  isWordByte(first), isWordByte(last) else { return false }
            var previous: UInt8 = 0
            for b in part {
                guard isWordByte(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") else { return false }
                if (b == UInt8(ascii: "-") || b == UInt8(ascii: ".")) && b == previous { return false }
                previous = b
            }
        }
        return true
    }

    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) || b == UInt8(ascii: "_")
    }
}
