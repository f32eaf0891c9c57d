// SPDX-License-Identifier: Apache-2.0
// What the adapter needs from a Gradio app's `GET <base>/config` (never prefixed, every
// version; backend-protocols.md §1.1): the API prefix — `/gradio_api` on Gradio 5 and 6,
// absent (so "") on Gradio 4, exactly as the official client reads it (`config.get("api_prefix",
// "")`, gradio_client/client.py) — and the endpoint's dependency id, which a queue cancel
// names as `fn_index` (routes.py cancel_event, §1.4). Pure.
public import TollgateCore

struct GradioSpaceConfig: Equatable, Sendable {
    /// "" or a path such as `/gradio_api` (no trailing slash).
    var apiPrefix: String
    /// The `version` field, for messages.
    var version: String?
    /// `api_name` → dependency id (`fn_index`).
    var functionIndex: [String: Int]

    enum Failure: Error, Equatable {
        case notJSON(String)
        case badPrefix(String)
    }

    /// Whether this Gradio withholds error texts from `/call` clients: before 6.13 an `error`
    /// event's data is null (routes.py simple_predict_get; backend-protocols.md §1.2), so a
    /// ZeroGPU quota error cannot be told from any other there. Such apps are called through
    /// the queue protocol (§1.4), whose `process_completed` carries the text. An unknown
    /// version is taken as current.
    var withholdsErrorText: Bool {
        guard let version else { return false }
        let parts = version.split(separator: ".", maxSplits: 2).map { Int($0.prefix { $0.isNumber }) }
        guard parts.count >= 2, let major = parts[0], let minor = parts[1] else { return false }
        return major < 6 || (major == 6 && minor < 13)
    }

    static func parse(_ body: [UInt8]) throws(Failure) -> GradioSpaceConfig {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body, maxDepth: 512)
        } catch {
            throw .notJSON("\(error)")
        }
        guard json.objectValue != nil else { throw .notJSON("not an object") }
        var prefix = json["api_prefix"]?.stringValue ?? ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        guard isSafePrefix(prefix) else { throw .badPrefix(prefix) }
        var index: [String: Int] = [:]
        for (position, dependency) in (json["dependencies"]?.arrayValue ?? []).enumerated() {
            guard var name = dependency["api_name"]?.stringValue else { continue }
            while name.hasPrefix("/") { name.removeFirst() }
            // Gradio 4+ gives each dependency an `id`; older ones were numbered by position.
            let id = dependency["id"]?.int64Value.flatMap { Int(exactly: $0) } ?? position
            if index[name] == nil { index[name] = id }
        }
        return GradioSpaceConfig(apiPrefix: prefix, version: json["version"]?.stringValue, functionIndex: index)
    }

    /// A prefix is pasted into every URL: "" or `/segment[/segment…]` of plain path characters,
    /// no `..`, query, fragment or percent sign, so an app cannot steer our requests elsewhere.
    static func isSafePrefix(_ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        guard prefix.utf8.first == UInt8(ascii: "/"), prefix.utf8.count <= 256, !prefix.contains("..") else { return false }
        return prefix.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "/"):
                return true
            default:
                return false
            }
        }
    }
}
