import Hummingbird
import NIOCore

/// Documents served as they are: the compare page at `/` and the OpenAPI description at
/// `/openapi.yaml`. Both are compiled into the binary, so the server needs no files beside it.
/// Neither is under `/v1`, so they stay readable without the API key (the page asks for it).
struct PageRoutes<Context: RequestContext> {
    func add(to router: Router<Context>) {
        router.get("/") { _, _ in page(ComparePage.html, type: "text/html; charset=utf-8") }
        router.get("/openapi.yaml") { _, _ in page(OpenAPIDocument.yaml, type: "application/yaml; charset=utf-8") }
    }

    func page(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
