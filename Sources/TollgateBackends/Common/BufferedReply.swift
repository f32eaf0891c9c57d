// SPDX-License-Identifier: Apache-2.0
// What a BufferedCall got back: the status, the kept headers, the whole body and how the
// transfer ended.
public import TollgateUpstream

public struct BufferedReply: Sendable {
    /// The final status; 0 when no response head arrived.
    public var status: Int
    /// The kept headers (`content-type` and the caller's list), names lowercase, values free
    /// of control bytes, in the order received.
    public var headers: [(String, String)]
    /// The whole body when `outcome` is `.completed`, else empty.
    public var body: [UInt8]
    public var outcome: UpstreamOutcome

    public init(status: Int, headers: [(String, String)], body: [UInt8], outcome: UpstreamOutcome) {
        self.status = status
        self.headers = headers
        self.body = body
        self.outcome = outcome
    }

    /// The first value of header `name` (lowercase), if kept and sent.
    public func header(_ name: String) -> String? {
        headers.first(where: { $0.0 == name })?.1
    }

    /// The response's Content-Type, as sent.
    public var contentType: String? { header("content-type") }

    /// A complete response with a 2xx status.
    public var isSuccess: Bool { outcome == .completed && (200..<300).contains(status) }
}
