// SPDX-License-Identifier: Apache-2.0
// kind: hf_space — the settings of one Gradio app (a Hugging Face Space or any Gradio server).

public struct HFSpaceBackendOptions: Sendable {
    /// Its `baseURL` is the app's, `https://<owner>-<name>.hf.space` for a `space`, else the
    /// `url` (trailing slashes dropped); its `apiKey` is the Hugging Face token, sent as
    /// `Authorization: Bearer` on every call (§1.1: both the POST and the GET; uploads and file
    /// fetches too, a private Space needs it everywhere); `maxResponseBytes` caps every reply
    /// read from the app, and the result files fetched for one call together.
    public var endpoint: BackendEndpoint
    /// The Gradio endpoint, e.g. `/predict` (the leading slash is optional).
    public var apiName: String
    /// The Gradio `data` array.
    public var inputs: [GradioDataInput]
    /// Which element of the result's `data` is the answer.
    public var output: Int

    public init(endpoint: BackendEndpoint, apiName: String = "/predict", inputs: [GradioDataInput] = [], output: Int = 0) {
        self.endpoint = endpoint
        self.endpoint.baseURL = endpoint.trimmedBaseURL
        self.apiName = apiName
        self.inputs = inputs
        self.output = output
    }

    /// `apiName` as it goes in a path (`pathSegment`).
    public var apiPathSegment: String { Self.pathSegment(apiName) }

    /// A name as it goes in a path: no leading slash, every byte outside RFC 3986's unreserved
    /// set percent-encoded (a configured name can never add a path segment or a query).
    public static func pathSegment(_ text: String) -> String {
        var name = Substring(text)
        while name.hasPrefix("/") { name.removeFirst() }
        var out = ""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]], as: UTF8.self)
            }
        }
        return out
    }

    /// The name Gradio's `/config` lists the endpoint under (`dependencies[].api_name`).
    var apiNameInConfig: String {
        var name = Substring(apiName)
        while name.hasPrefix("/") { name.removeFirst() }
        return String(name)
    }
}
