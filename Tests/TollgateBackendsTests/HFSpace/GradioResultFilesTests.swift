// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
@testable import TollgateBackends

struct GradioResultFilesTests {
    static let route = "http://127.0.0.1:7861/gradio_api/file="
    /// A file result as gradio 6.31 sends it.
    static let file: JSONValue = try! JSONValue.parse(#"{"path": "/tmp/gradio/ab/result.txt", "url": "http://127.0.0.1:7861/gradio_api/file=/tmp/gradio/ab/result.txt", "size": 3, "orig_name": "result.txt", "mime_type": null, "is_stream": false, "meta": {"_type": "gradio.FileData"}}"#)

    @Test func findsFileDataAnywhereInTheOutput() {
        let noURL: JSONValue = ["path": "/tmp/x.png", "meta": ["_type": "gradio.FileData"]]
        let output: JSONValue = ["gallery": [["image": Self.file, "caption": "c"], ["image": noURL]], "text": "t",
                                 "not": ["path": "/etc/passwd"]]
        let files = GradioResultFiles.files(in: output, fileRoute: Self.route)
        #expect(files.map(\.url) == ["http://127.0.0.1:7861/gradio_api/file=/tmp/gradio/ab/result.txt",
                                     Self.route + "/tmp/x.png"])
    }

    @Test func replacesEachURLInOrderAndDropsTheRest() {
        let output: JSONValue = [Self.file, ["x": Self.file], Self.file]
        let shaped = GradioResultFiles.replacingURLs(in: output, with: ["data:text/plain;base64,QUJD", nil], fileRoute: Self.route)
        #expect(shaped[0]?["url"] == "data:text/plain;base64,QUJD")
        #expect(shaped[0]?["orig_name"] == "result.txt")
        #expect(shaped[1]?["x"]?["url"]?.isNull == true)
        #expect(shaped[2]?["url"]?.isNull == true)
        #expect(!shaped.text.contains("http://"))
    }

    @Test func dataURIsAreBase64WithASafeType() {
        #expect(GradioResultFiles.dataURI(Array("ABC".utf8), mimeType: "text/plain") == "data:text/plain;base64,QUJD")
        #expect(GradioResultFiles.dataURI([], mimeType: "a,b") == "data:application/octet-stream;base64,")
    }

    @Test func uploadPartsNameTheFileSafely() {
        #expect(GradioUploadBody.safeFilename("../../etc/pass\"wd\r\n") == "pass" + "wd")
        #expect(GradioUploadBody.safeFilename(nil) == "upload")
        #expect(GradioUploadBody.safeFilename("C:\\x\\.hidden") == "hidden")
        let head = String(decoding: GradioUploadBody.partHead(boundary: "b1", filename: "a.png", contentType: "image/png\r\nX: y"), as: UTF8.self)
        #expect(head == "--b1\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\nContent-Type: application/octet-stream\r\n\r\n")
    }
}
