#pragma once
// importBatchFile: the console's "Import JSONL…": every line of a Message Batches file becomes a request.
//
// Design note. The same reader as headless mode (BatchReader), so a file behaves the same in both: a good
// line is submitted with its custom_id and priority; a malformed line, or one the dispatcher refuses, is
// recorded as a failed request whose error names the line, so it has a row and nothing is silently dropped. A
// progress dialog appears for files that take longer than a moment, and can stop the import (what was read
// stays queued).
//
// Worked example: a 3-line file with one line that is not JSON -> 2 rows queued, 1 row failed with
// "line 2: not valid JSON ...", and the summary "2 requests queued, 1 line rejected".
//
// Threading: main thread only.

#include <QString>

class QWidget;

namespace sluice {

class Dispatcher;

struct BatchImportResult
{
    int submitted = 0;
    int rejected = 0;
    bool stopped = false; // the user stopped it part-way
    QString error;        // the file could not be read (nothing was imported)
    QString summary() const;
};

// Reads `path` and submits its requests to `dispatcher`; `parent` owns the progress dialog (may be null).
BatchImportResult importBatchFile(QWidget *parent, Dispatcher &dispatcher, const QString &path);

} // namespace sluice
