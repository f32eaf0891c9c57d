// SPDX-License-Identifier: Apache-2.0
// RunPod's job object, as `/runsync`, `/run` and `/status/<id>` answer it (runpod/docs
// serverless/endpoints/job-states.mdx, operation-reference.mdx; runpod-python
// runpod/endpoint/runner.py): `{"id", "status", "delayTime", "executionTime", "workerId",
// "output" | "error"}`, times in milliseconds. Pure: bytes in, a value or a reason out.
public import TollgateCore

/// A job's state (job-states.mdx). `RUNNING` appears in the docs' prose beside `IN_PROGRESS`.
public enum RunPodJobStatus: String, Equatable, Sendable {
    case inQueue = "IN_QUEUE"
    case inProgress = "IN_PROGRESS"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case cancelled = "CANCELLED"
    case timedOut = "TIMED_OUT"

    public init?(text: String) {
        if text == "RUNNING" {
            self = .inProgress
        } else {
            self.init(rawValue: text)
        }
    }

    /// No later status follows: stop polling. (The SDK's FINAL_STATES leaves CANCELLED out
    /// but its `is_completed` counts it, runpod/endpoint/helpers.py; a cancelled job never
    /// resumes.)
    public var isFinal: Bool {
        switch self {
        case .inQueue, .inProgress: return false
        case .completed, .failed, .cancelled, .timedOut: return true
        }
    }
}

/// Why a reply is not a job object the adapter can act on.
public enum RunPodReplyError: Error, Equatable, Sendable {
    case notJSON
    case notAnObject
    case noStatus
    /// A status this version does not know (kept for the error's text).
    case unknownStatus(String)
    /// A non-final job without an id, or an id that is not safe in a URL path.
    case badJobID

    public var message: String {
        switch self {
        case .notJSON: return "the RunPod reply is not JSON"
        case .notAnObject: return "the RunPod reply is not a job object"
        case .noStatus: return "the RunPod reply has no status"
        case .unknownStatus(let s): return "the RunPod job has an unknown status \(String(s.prefix(40)))"
        case .badJobID: return "the RunPod reply has no usable job id"
        }
    }
}

public struct RunPodJobReply: Equatable, Sendable {
    /// The job's id: only ASCII letters, digits, `-`, `_` and `.`, at most 128 bytes (it goes
    /// into `/status/<id>` and `/cancel/<id>`: a reply must not be able to steer those
    /// requests elsewhere, e.g. with `../` or `?`).
    public var id: String?
    public var status: RunPodJobStatus
    /// `output` when present (COMPLETED; a handler's `{"error"}` reply may carry the rest).
    public var output: JSONValue?
    /// The error text when FAILED: a handler's exception arrives as JSON inside the string
    /// (`{"error_type", "error_message", "error_traceback", …}`, runpod-python rp_job.py
    /// `run_job`), and its `error_message` is the readable part.
    public var error: String?
    /// Milliseconds the handler ran (what the platform bills as execution).
    public var executionTimeMs: Int64?
    /// Milliseconds in the queue, cold start included.
    public var delayTimeMs: Int64?

    public init(id: String?, status: RunPodJobStatus, output: JSONValue? = nil, error: String? = nil,
                executionTimeMs: Int64? = nil, delayTimeMs: Int64? = nil) {
        self.id = id
        self.status = status
        self.output = output
        self.error = error
        self.executionTimeMs = executionTimeMs
        self.delayTimeMs = delayTimeMs
    }

    /// Error texts longer than this are cut (a traceback can be long; the client's message
    /// and the log need the first lines).
    static let maxErrorText = 1_000

    public static func parse(_ bytes: [UInt8]) throws(RunPodReplyError) -> RunPodJobReply {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw .notJSON
        }
        guard value.objectValue != nil else { throw .notAnObject }
        guard let statusText = value["status"]?.stringValue else { throw .noStatus }
        guard let status = RunPodJobStatus(text: statusText) else { throw .unknownStatus(statusText) }
        var id: String?
        if let text = value["id"]?.stringValue {
            guard isSafeJobID(text) else { throw .badJobID }
            id = text
        }
        if !status.isFinal && id == nil { throw .badJobID }
        var error: String?
        if let e = value["error"] {
            error = errorText(e)
        }
        return RunPodJobReply(id: id, status: status, output: value["output"], error: error,
                              executionTimeMs: milliseconds(value["executionTime"]),
                              delayTimeMs: milliseconds(value["delayTime"]))
    }

    static func isSafeJobID(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 128, text != ".", text != ".." else { return false }
        return utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
        }
    }

    /// A non-negative whole number of milliseconds (a fraction is dropped; anything else is
    /// no figure at all).
    static func milliseconds(_ value: JSONValue?) -> Int64? {
        guard let value else { return nil }
        if let whole = value.int64Value { return whole >= 0 ? whole : nil }
        guard let double = value.doubleValue, double.isFinite, double >= 0, double < 9e15 else { return nil }
        return Int64(double)
    }

    /// The readable part of an `error` member: a string, or the `error_message` of the JSON
    /// a raised exception turns into; any other JSON as its text.
    static func errorText(_ value: JSONValue) -> String {
        var text: String
        if let string = value.stringValue {
            text = string
            if let inner = try? JSONValue.parse(Array(string.utf8)), let message = inner["error_message"]?.stringValue {
                text = message
            }
        } else if let message = value["error_message"]?.stringValue ?? value["message"]?.stringValue {
            text = message
        } else {
            text = value.text
        }
        if text.isEmpty { text = "the job failed without an error text" }
        return text.count > maxErrorText ? String(text.prefix(maxErrorText)) + "…" : text
    }
}
