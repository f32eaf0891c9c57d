// SPDX-License-Identifier: Apache-2.0
// The body of `POST <prefix>/call/<api>`: `{"data":[…],"session_hash":"…"}`, one `data` element
// per element of the backend's `inputs` (backend-protocols.md §1.2). `$field` takes the request's
// field: a JSON body's member as it was sent, a multipart text field as a string, an uploaded
// file as a FileData dict — with `meta`, which Gradio ≥ 5 requires on every file input
// (data_classes.py validate_meta, §1.3) — and a field sent several times as a list. A field
// the request lacks is null (the Gradio component's own default then applies). Constants keep
// their JSON type. Pure: no I/O.
import TollgateCore

enum GradioDataArray {
    /// The `/call` body for `inputs`, given the request's fields (a name seen several times
    /// has several values, in order).
    /// With `queueFunction` (the dependency id), the body of the queue protocol's
    /// `POST <prefix>/queue/join` instead (§1.4: `fn_index`, `event_data`, `trigger_id`).
    static func body(inputs: [GradioDataInput], fields: [String: [GradioFieldValue]], sessionHash: String,
                     queueFunction: Int? = nil) -> [UInt8] {
        var out: [UInt8] = Array(#"{"data":["#.utf8)
        for (index, input) in inputs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(input, fields: fields, to: &out)
        }
        out += Array(#"],"session_hash":"#.utf8)
        out += Array(JSONText.quoted(sessionHash).utf8)
        if let queueFunction {
            out += Array(",\"fn_index\":\(queueFunction),\"event_data\":null,\"trigger_id\":null".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func append(_ input: GradioDataInput, fields: [String: [GradioFieldValue]], to out: inout [UInt8]) {
        switch input {
        case .field(let name):
            let values = fields[name] ?? []
            if values.count == 1 {
                append(values[0], to: &out)
            } else if values.isEmpty {
                out += Array("null".utf8)
            } else {
                out.append(UInt8(ascii: "["))
                for (i, value) in values.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    append(value, to: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
        case .string(let text): out += Array(JSONText.quoted(text).utf8)
        case .integer(let value): out += Array(String(value).utf8)
        // JSON has no NaN or infinity (RFC 8259 §6): such a constant goes as null.
        case .number(let value): out += Array((value.isFinite ? "\(value)" : "null").utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .null: out += Array("null".utf8)
        }
    }

    private static func append(_ value: GradioFieldValue, to out: inout [UInt8]) {
        switch value {
        case .json(let json): out += json.serialized
        case .text(let text): out += Array(JSONText.quoted(text).utf8)
        case .file(let path, let name, let mimeType):
            out += Array(#"{"path":"#.utf8) + Array(JSONText.quoted(path).utf8)
            out += Array(#","meta":{"_type":"gradio.FileData"}"#.utf8)
            if let name { out += Array(#","orig_name":"#.utf8) + Array(JSONText.quoted(name).utf8) }
            if let mimeType { out += Array(#","mime_type":"#.utf8) + Array(JSONText.quoted(mimeType).utf8) }
            out.append(UInt8(ascii: "}"))
        }
    }
}
