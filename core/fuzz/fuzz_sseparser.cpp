// libFuzzer target for SseParser and StreamAssembler (built by scripts/fuzz, not part of the default build).
//
// Design note. Beyond "never crash, never hang, never leak" (ASan and libFuzzer watch those), the target
// checks the parser's central promise differentially: the same bytes fed whole and fed in chunks (cut where
// the input's first bytes say) give the same events. Everything the parser emits then goes through
// StreamAssembler, whose results must be self-consistent: a Complete stream's text is as long as the sum of
// its text deltas.
//
// Worked example: input "\x03\x07event: a\r\ndata: x\r\n\r\n" cuts the rest into pieces of 3 and 7 bytes
// alternately ("eve", "nt: a\r\n", "dat", ...) and expects the single event {a, x} both ways.

#include "transport/sseparser.h"

#include <cstddef>
#include <cstdint>

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const qsizetype stepA = 1 + data[0] % 64;
    const qsizetype stepB = 1 + data[1] % 64;
    const QByteArrayView input(reinterpret_cast<const char *>(data) + 2, qsizetype(size) - 2);

    SseParser whole(4096); // a small budget so the overflow path is reached too
    const QList<SseEvent> reference = whole.feed(input);
    const bool wholeClean = whole.finish();

    SseParser chunked(4096);
    QList<SseEvent> events;
    bool useA = true;
    for (qsizetype at = 0; at < input.size(); useA = !useA) {
        const qsizetype n = std::min(useA ? stepA : stepB, input.size() - at);
        events += chunked.feed(input.sliced(at, n));
        at += n;
    }
    const bool chunkedClean = chunked.finish();
    if (events != reference || wholeClean != chunkedClean)
        __builtin_trap();

    StreamAssembler assembler;
    QString deltas;
    for (const SseEvent &e : events)
        deltas += assembler.consume(e);
    assembler.finish();
    if (assembler.state() == StreamAssembler::State::Open)
        __builtin_trap(); // finish() must close every stream
    (void)assembler.message();
    (void)assembler.usage();
    // Every character of the text blocks reached the caller as a delta (in arrival order, which is block
    // order in a well-formed stream, hence the length comparison).
    if (assembler.state() == StreamAssembler::State::Complete && assembler.text().size() != deltas.size())
        __builtin_trap();
    return 0;
}
