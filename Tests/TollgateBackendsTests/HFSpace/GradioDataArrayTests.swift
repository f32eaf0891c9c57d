// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
@testable import TollgateBackends

struct GradioDataArrayTests {
    static func body(_ inputs: [GradioDataInput], _ fields: [String: [GradioFieldValue]]) throws -> JSONValue {
        try JSONValue.parse(GradioDataArray.body(inputs: inputs, fields: fields, sessionHash: "s1"))
    }

    @Test func constantsKeepTheirJSONTypes() throws {
        let value = try Self.body([.string("$x"), .integer(30), .number(0.5), .bool(true), .null, .number(.nan)], [:])
        #expect(value == ["data": [.string("$x"), 30, .number("0.5"), true, nil, nil], "session_hash": "s1"])
    }

    @Test func fieldsComeFromTheRequest() throws {
        let fields: [String: [GradioFieldValue]] = [
            "prompt": [.json(.string("a cat"))],
            "n": [.json(JSONValue(integer: 3))],
            "opts": [.json(["k": [1, 2]])],
            "caption": [.text("hé \"q\"")],
            "image": [.file(path: "/tmp/gradio/x/a.png", name: "a.png", mimeType: "image/png")],
            "images": [.file(path: "/p1", name: nil, mimeType: nil), .file(path: "/p2", name: "b", mimeType: nil)],
        ]
        let value = try Self.body([.field("image"), .field("prompt"), .field("n"), .field("opts"), .field("caption"),
                                   .field("missing"), .field("images")], fields)
        let data = try #require(value["data"]?.arrayValue)
        #expect(data.count == 7)
        // Gradio ≥ 5 refuses a file input without meta (data_classes.py).
        #expect(data[0] == ["path": "/tmp/gradio/x/a.png", "meta": ["_type": "gradio.FileData"], "orig_name": "a.png",
                            "mime_type": "image/png"])
        #expect(data[1] == "a cat")
        #expect(data[2] == 3)
        #expect(data[3] == ["k": [1, 2]])
        #expect(data[4] == "hé \"q\"")
        #expect(data[5] == nil)
        #expect(data[6] == [["path": "/p1", "meta": ["_type": "gradio.FileData"]],
                            ["path": "/p2", "meta": ["_type": "gradio.FileData"], "orig_name": "b"]])
    }
}
