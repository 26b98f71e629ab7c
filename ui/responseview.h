#pragma once
// ResponseView: the selected request's answer, streaming live, with its usage, stop reason and error.
//
// Design note. The view follows one request at a time. Streamed text arrives as Dispatcher::textDelta pieces;
// the view appends each piece at the end of the text (no re-layout of what is already there), so following a
// long answer costs one append per delta. When an attempt is retried the dispatcher restarts the text, and
// the view does the same on `dispatched`. Usage, stop reason and the error (with the server's request-id,
// which is what Anthropic support asks for) are refreshed when the request changes.
//
// Example: showRequest(12) on a streaming request shows "Once up", then textDelta(12, "on a time") makes it
// "Once upon a time"; on success: "Usage: 112 input · 87 output tokens", "Stop reason: end_turn".
//
// Threading: main thread only (a widget). The dispatcher must outlive the view.

#include "messagerequest.h"

#include <QWidget>

class QLabel;
class QPlainTextEdit;

namespace sluice {

class Dispatcher;
class FieldError;

class ResponseView : public QWidget
{
    Q_OBJECT
public:
    explicit ResponseView(const Dispatcher &dispatcher, QWidget *parent = nullptr);

    // Follows request `id` (0: shows nothing).
    void showRequest(RequestId id);
    RequestId currentRequest() const { return m_id; }

    QString text() const;
    QString titleText() const;
    QString usageText() const;
    QString stopReasonText() const;
    QString errorText() const;

private:
    void refresh(bool replaceText);

    const Dispatcher &m_dispatcher;
    RequestId m_id = 0;
    QLabel *m_title;
    QPlainTextEdit *m_text;
    QLabel *m_usage;
    QLabel *m_stop;
    QLabel *m_requestId;
    FieldError *m_error;
};

} // namespace sluice
