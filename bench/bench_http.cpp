// HttpResponseParser: every response byte Sluice receives passes through it, so it must stay far below the
// network's speed. Two shapes, both fed in 1,460-byte pieces (one TCP segment's payload, as the socket hands
// them over):
//   - a streamed answer: a chunked event stream of 2,000 text deltas (about 300 KB), bytes per second;
//   - a plain answer: a 2 KB JSON body with a Content-Length and API-like headers, responses per second.
// The SSE decoding above it is measured separately (its own parser); here only HTTP framing is counted.

#include "transport/httpresponseparser.h"

#include <benchmark/benchmark.h>

using namespace sluice;

namespace {

constexpr qsizetype kSegment = 1460;

QByteArray apiHeaders()
{
    QByteArray h;
    h += "date: Thu, 03 Dec 2026 15:00:00 GMT\r\n";
    h += "request-id: req_011CXYZabcdefghijklmnopq\r\n";
    h += "anthropic-organization-id: 00000000-0000-0000-0000-000000000000\r\n";
    for (const char *group : {"requests", "tokens", "input-tokens", "output-tokens"}) {
        h += QByteArray("anthropic-ratelimit-") + group + "-limit: 400000\r\n";
        h += QByteArray("anthropic-ratelimit-") + group + "-remaining: 399000\r\n";
        h += QByteArray("anthropic-ratelimit-") + group + "-reset: 2026-12-03T15:00:01Z\r\n";
    }
    return h;
}

QByteArray streamedResponse(int deltas)
{
    QByteArray r = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                   "transfer-encoding: chunked\r\nconnection: keep-alive\r\n" +
                   apiHeaders() + "\r\n";
    for (int i = 0; i < deltas; ++i) {
        const QByteArray event =
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"token " +
            QByteArray::number(i) + " of the answer\"}}\n\n";
        r += QByteArray::number(event.size(), 16) + "\r\n" + event + "\r\n";
    }
    r += "0\r\n\r\n";
    return r;
}

QByteArray plainResponse()
{
    const QByteArray body =
        "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"text\",\"text\":\"" +
        QByteArray(1900, 'x') + "\"}],\"usage\":{\"input_tokens\":25,\"output_tokens\":480}}";
    return "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
           QByteArray::number(body.size()) + "\r\n" + apiHeaders() + "\r\n" + body;
}

// Feeds `wire` in segments and drains every event; returns the body bytes decoded (checked by the caller).
qsizetype parseAll(const QByteArray &wire)
{
    HttpResponseParser p;
    qsizetype body = 0;
    for (qsizetype at = 0; at < wire.size(); at += kSegment) {
        p.addData(QByteArrayView(wire).sliced(at, std::min(kSegment, wire.size() - at)));
        for (;;) {
            const auto e = p.next();
            if (e == HttpResponseParser::Event::Body)
                body += p.takeBody().size();
            else if (e == HttpResponseParser::Event::NeedMore || e == HttpResponseParser::Event::Complete)
                break;
            else if (e == HttpResponseParser::Event::Error)
                return -1;
        }
    }
    return p.isComplete() ? body : -1;
}

void streamed(benchmark::State &state)
{
    const QByteArray wire = streamedResponse(2000);
    for (auto _ : state) {
        const qsizetype body = parseAll(wire);
        if (body <= 0)
            state.SkipWithError("the stream did not parse");
        benchmark::DoNotOptimize(body);
    }
    state.SetBytesProcessed(state.iterations() * wire.size());
}
BENCHMARK(streamed);

void plain(benchmark::State &state)
{
    const QByteArray wire = plainResponse();
    for (auto _ : state) {
        const qsizetype body = parseAll(wire);
        if (body <= 0)
            state.SkipWithError("the response did not parse");
        benchmark::DoNotOptimize(body);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * wire.size());
}
BENCHMARK(plain);

} // namespace

BENCHMARK_MAIN();
