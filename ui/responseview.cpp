#include "responseview.h"

#include "dispatcher.h"
#include "fielderror.h"
#include "formatting.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTextCursor>
#include <QVBoxLayout>

namespace sluice {

ResponseView::ResponseView(const Dispatcher &dispatcher, QWidget *parent)
    : QWidget(parent)
    , m_dispatcher(dispatcher)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(6, 6, 6, 6);
    outer->setSpacing(4);
    m_title = new QLabel(tr("Select a request to see its response."), this);
    m_title->setTextFormat(Qt::PlainText);
    QFont bold = m_title->font();
    bold.setBold(true);
    m_title->setFont(bold);
    m_text = new QPlainTextEdit(this);
    m_text->setReadOnly(true);
    m_text->setPlaceholderText(tr("The answer appears here as it streams in."));
    outer->addWidget(m_title);
    outer->addWidget(m_text, 1);

    auto *meta = new QHBoxLayout;
    meta->setSpacing(16);
    auto makeValue = [this] {
        auto *l = new QLabel(this);
        l->setTextFormat(Qt::PlainText);
        l->setTextInteractionFlags(Qt::TextSelectableByMouse);
        return l;
    };
    m_usage = makeValue();
    m_stop = makeValue();
    m_requestId = makeValue();
    m_requestId->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_requestId->setToolTip(tr("The server's request-id: quote it when asking Anthropic about a request."));
    meta->addWidget(m_usage);
    meta->addWidget(m_stop);
    meta->addWidget(m_requestId);
    meta->addStretch(1);
    outer->addLayout(meta);
    m_error = new FieldError(this);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    outer->addWidget(m_error);

    connect(&dispatcher, &Dispatcher::textDelta, this, [this](RequestId id, const QString &piece) {
        if (id != m_id)
            return;
        // Append at the end without disturbing a selection or the reader's scroll position (unless at the
        // end).
        QScrollBar *bar = m_text->verticalScrollBar();
        const bool atEnd = bar->value() == bar->maximum();
        QTextCursor c(m_text->document());
        c.movePosition(QTextCursor::End);
        c.insertText(piece);
        if (atEnd)
            bar->setValue(bar->maximum());
    });
    connect(&dispatcher, &Dispatcher::dispatched, this, [this](RequestId id) {
        if (id == m_id)
            refresh(true); // a new attempt starts its text afresh
    });
    connect(&dispatcher, &Dispatcher::requestChanged, this, [this](RequestId id) {
        if (id == m_id)
            refresh(false);
    });
    connect(&dispatcher, &Dispatcher::finished, this, [this](RequestId id) {
        if (id == m_id)
            refresh(true);
    });
    showRequest(0);
}

void ResponseView::showRequest(RequestId id)
{
    m_id = id;
    refresh(true);
}

void ResponseView::refresh(bool replaceText)
{
    const MessageRequest *m = m_id ? m_dispatcher.request(m_id) : nullptr;
    if (!m) {
        m_title->setText(tr("Select a request to see its response."));
        m_text->clear();
        m_usage->clear();
        m_stop->clear();
        m_requestId->clear();
        m_error->setError({});
        return;
    }
    const QString model = m->params.value(QLatin1String("model")).toString();
    m_title->setText(QStringLiteral("%1 · %2 · %3 · attempt %4")
                         .arg(m->customId.isEmpty() ? QStringLiteral("req-%1").arg(m->id) : m->customId,
                              model, requestStateName(m->state))
                         .arg(m->attempts));
    if (replaceText) {
        const QString text = !m->streamedText.isEmpty() ? m->streamedText : m->outcome.text;
        if (m_text->toPlainText() != text)
            m_text->setPlainText(text);
    }
    const AttemptOutcome &o = m->outcome;
    const bool answered = m->state == RequestState::Succeeded || o.usage.inputTokens || o.usage.outputTokens;
    if (answered) {
        QString usage =
            tr("Usage: %1 input · %2 output tokens")
                .arg(QLocale().toString(o.usage.inputTokens), QLocale().toString(o.usage.outputTokens));
        if (o.usage.cacheReadInputTokens || o.usage.cacheCreationInputTokens)
            usage += tr(" (cache: %1 read, %2 written)")
                         .arg(QLocale().toString(o.usage.cacheReadInputTokens),
                              QLocale().toString(o.usage.cacheCreationInputTokens));
        if (m->lastLatency > Duration{0})
            usage += tr(" · %1").arg(formatSeconds(toSeconds(m->lastLatency)));
        m_usage->setText(usage);
    } else {
        m_usage->setText(tr("Usage: —"));
    }
    m_stop->setText(o.stopReason.isEmpty() ? QString() : tr("Stop reason: %1").arg(o.stopReason));
    m_requestId->setText(o.requestId.isEmpty() ? QString() : tr("request-id: %1").arg(o.requestId));
    QString error = m->errorMessage;
    if (error.isEmpty() && !o.ok() && o.kind != ErrorKind::Cancelled && m->state != RequestState::InFlight &&
        m->state != RequestState::Succeeded && m->attempts > 0)
        error = tr("Last attempt: %1").arg(o.summary());
    m_error->setError(error);
}

QString ResponseView::text() const
{
    return m_text->toPlainText();
}

QString ResponseView::titleText() const
{
    return m_title->text();
}

QString ResponseView::usageText() const
{
    return m_usage->text();
}

QString ResponseView::stopReasonText() const
{
    return m_stop->text();
}

QString ResponseView::errorText() const
{
    return m_error->error();
}

} // namespace sluice
