#include "batchimport.h"

#include "batchio.h"
#include "dispatcher.h"

#include <QCoreApplication>
#include <QFile>
#include <QProgressDialog>

namespace sluice {

QString BatchImportResult::summary() const
{
    if (!error.isEmpty())
        return error;
    return QCoreApplication::translate("BatchImport", "%1 requests queued, %2 lines rejected%3")
        .arg(submitted)
        .arg(rejected)
        .arg(stopped ? QCoreApplication::translate("BatchImport", " (stopped before the end)") : QString());
}

BatchImportResult importBatchFile(QWidget *parent, Dispatcher &dispatcher, const QString &path)
{
    BatchImportResult result;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        result.error =
            QCoreApplication::translate("BatchImport", "cannot open %1: %2").arg(path, file.errorString());
        return result;
    }
    const qint64 size = std::max<qint64>(1, file.size());
    QProgressDialog progress(QCoreApplication::translate("BatchImport", "Importing %1…").arg(path),
                             QCoreApplication::translate("BatchImport", "Stop"), 0, 1000, parent);
    progress.setWindowModality(Qt::WindowModal);
    progress.setMinimumDuration(300);
    BatchReader reader;
    int lineNumber = 0;
    while (!file.atEnd()) {
        if (progress.wasCanceled()) {
            result.stopped = true;
            break;
        }
        QByteArray text = file.readLine();
        if (text.endsWith('\n'))
            text.chop(1);
        const BatchReader::Parsed parsed = reader.parse(text, ++lineNumber);
        if (parsed.kind == BatchReader::Kind::Request) {
            const Dispatcher::SubmitResult r =
                dispatcher.submit(parsed.request.params, parsed.request.priority, parsed.request.customId);
            if (r.ok()) {
                ++result.submitted;
            } else {
                dispatcher.recordRejected(parsed.request.customId,
                                          QStringLiteral("line %1: %2").arg(lineNumber).arg(r.error));
                ++result.rejected;
            }
        } else if (parsed.kind == BatchReader::Kind::Error) {
            dispatcher.recordRejected(parsed.customId.toString(), parsed.error);
            ++result.rejected;
        }
        if (lineNumber % 256 == 0) {
            progress.setValue(int(1000 * file.pos() / size));
            QCoreApplication::processEvents();
        }
    }
    progress.setValue(1000);
    return result;
}

} // namespace sluice
