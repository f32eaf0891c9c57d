// SPDX-License-Identifier: Apache-2.0
// Replicate's prediction object, read from a create or poll reply (replicate-python-beta
// `src/replicate/types/prediction.py`; research/backend-protocols.md §4): the fields the
// adapter acts on, checked as untrusted text. Pure.
import TollgateCore

struct ReplicatePrediction: Equatable {
    /// `status`. The generated SDK enum lacks `aborted`, which the API sends when a
    /// `Cancel-After` deadline passes before the prediction started (replicate.com changelog
    /// 2025-10-16), so it is listed here; any other text is treated as not final yet.
    enum Status: Equatable {
        case starting, processing, succeeded, failed, canceled, aborted
        case other(String)

        init(_ text: String) {
            switch text {
            case "starting": self = .starting
            case "processing": self = .processing
            case "succeeded": self = .succeeded
            case "failed": self = .failed
            case "canceled": self = .canceled
            case "aborted": self = .aborted
            default: self = .other(text)
            }
        }

        /// Nothing more will happen to the prediction: stop polling, never cancel.
        var isFinal: Bool {
            switch self {
            case .succeeded, .failed, .canceled, .aborted: return true
            case .starting, .processing, .other: return false
            }
        }
    }

    /// The prediction's id: the handle to poll or cancel it by. Only URL-safe characters are
    /// accepted, since it may be joined into a path.
    let id: String
    let status: Status
    /// `output` as sent (nil when absent or null).
    let output: JSONValue?
    /// `error` as text (a string as-is, any other JSON value as its JSON text).
    let error: String?
    /// `urls.get` and `urls.cancel` as sent (checked against the backend's origin elsewhere).
    let getURL: String?
    let cancelURL: String?
    /// `metrics.predict_time`: seconds the model ran, fractional — what a public model bills.
    let predictTime: MilliGPUSeconds?
    /// `metrics.total_time` − `predict_time`: the wall time before the run (queue, boot).
    let waitTime: Duration?

    /// nil unless `json` is an object with a usable `id` and a string `status`.
    init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, Self.isSafeID(id), let status = json["status"]?.stringValue else { return nil }
        self.id = id
        self.status = Status(status)
        if let output = json["output"], !output.isNull { self.output = output } else { self.output = nil }
        switch json["error"] {
        case nil, .null?: error = nil
        case .string(let text)?: error = text.isEmpty ? nil : text
        case let other?: error = other.text
        }
        getURL = json["urls"]?["get"]?.stringValue
        cancelURL = json["urls"]?["cancel"]?.stringValue
        let predict = json["metrics"]?["predict_time"]?.doubleValue
        predictTime = predict.flatMap { $0.isFinite && $0 >= 0 ? MilliGPUSeconds(seconds: $0) : nil }
        if let predict, let total = json["metrics"]?["total_time"]?.doubleValue, total.isFinite, predict.isFinite,
           total > predict, total - predict < 86_400 * 365 {
            waitTime = .milliseconds(Int64(((total - predict) * 1_000).rounded()))
        } else {
            waitTime = nil
        }
    }

    /// 1–128 of `[A-Za-z0-9_-]`: what Replicate's ids are made of, and nothing that could
    /// change a URL's path or query when joined into one.
    static func isSafeID(_ id: String) -> Bool {
        let bytes = id.utf8
        guard (1...128).contains(bytes.count) else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
    }
}
