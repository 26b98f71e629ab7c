#include "composerpanel.h"

#include "fielderror.h"
#include "modelcatalog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSpinBox>
#include <QVBoxLayout>

namespace sluice {

ComposerPanel::ComposerPanel(QWidget *parent)
    : QWidget(parent)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(6, 6, 6, 6);
    outer->setSpacing(6);

    auto *grid = new QGridLayout;
    grid->setHorizontalSpacing(10);
    grid->setVerticalSpacing(4);

    m_model = new QComboBox(this);
    m_model->setEditable(true);
    m_model->addItems(knownModelIds());
    m_model->setInsertPolicy(QComboBox::NoInsert);
    m_model->setMinimumContentsLength(14);
    m_model->setToolTip(tr("Model id. Pick one or type any id the API accepts."));
    m_modelError = new FieldError(this);

    m_maxTokens = new QSpinBox(this);
    m_maxTokens->setRange(0, 128000);
    m_maxTokens->setValue(1024);
    m_maxTokens->setSuffix(tr(" tokens"));
    m_maxTokens->setGroupSeparatorShown(true);
    m_maxTokens->setToolTip(
        tr("max_tokens: the longest answer allowed. Reserved against output tokens/min until "
           "the response says how many were used."));
    m_maxTokensError = new FieldError(this);

    m_temperature = new QDoubleSpinBox(this);
    m_temperature->setRange(0, 2);
    m_temperature->setDecimals(2);
    m_temperature->setSingleStep(0.1);
    m_temperature->setValue(1.0);
    m_temperature->setToolTip(tr("Randomness, 0.0 to 1.0 (the API's range). Lower is more deterministic."));
    m_temperatureError = new FieldError(this);

    m_priority = new QSpinBox(this);
    m_priority->setRange(-1000, 1000);
    m_priority->setToolTip(tr("Higher goes first. Equal priorities keep submit order."));

    m_stream = new QCheckBox(tr("&Stream"), this);
    m_stream->setChecked(true);
    m_stream->setToolTip(tr("Stream the answer as it is generated (server-sent events)."));

    // One column of fields: the composer shares the window with the queue, which needs the width.
    int row = 0;
    auto addField = [&](const QString &label, QWidget *field, FieldError *error) {
        auto *l = new QLabel(label, this);
        l->setBuddy(field);
        grid->addWidget(l, row, 0);
        grid->addWidget(field, row++, 1);
        if (error)
            grid->addWidget(error, row++, 1);
    };
    addField(tr("&Model:"), m_model, m_modelError);
    addField(tr("Max &tokens:"), m_maxTokens, m_maxTokensError);
    addField(tr("Tem&perature:"), m_temperature, m_temperatureError);
    addField(tr("Pr&iority:"), m_priority, nullptr);
    grid->addWidget(m_stream, row, 1);
    grid->setColumnStretch(1, 1);
    outer->addLayout(grid);

    auto *systemLabel = new QLabel(tr("S&ystem prompt (optional):"), this);
    m_system = new QPlainTextEdit(this);
    m_system->setPlaceholderText(tr("You are a concise assistant."));
    m_system->setTabChangesFocus(true);
    m_system->setMaximumHeight(m_system->fontMetrics().lineSpacing() * 4 + 12);
    systemLabel->setBuddy(m_system);
    outer->addWidget(systemLabel);
    outer->addWidget(m_system);

    auto *promptLabel = new QLabel(tr("P&rompt:"), this);
    m_prompt = new QPlainTextEdit(this);
    m_prompt->setPlaceholderText(tr("Write the user message here. Ctrl+Enter sends it."));
    m_prompt->setTabChangesFocus(true);
    promptLabel->setBuddy(m_prompt);
    m_promptError = new FieldError(this);
    outer->addWidget(promptLabel);
    outer->addWidget(m_prompt, 1);
    outer->addWidget(m_promptError);

    auto *buttons = new QHBoxLayout;
    m_import = new QPushButton(tr("Import &JSONL…"), this);
    m_import->setToolTip(tr("Queue every line of a Message Batches JSONL file "
                            "({\"custom_id\": …, \"params\": {…}, \"priority\": n})."));
    m_count = new QSpinBox(this);
    m_count->setRange(1, 1'000'000);
    m_count->setValue(10);
    m_count->setPrefix(tr("× "));
    m_count->setGroupSeparatorShown(true);
    m_count->setToolTip(tr("How many copies \"Submit ×N\" queues (load testing)."));
    m_submitMany = new QPushButton(tr("Submit ×&N"), this);
    m_submitMany->setToolTip(tr("Queue N copies of this request."));
    m_submit = new QPushButton(tr("S&ubmit"), this);
    m_submit->setDefault(true);
    m_submit->setToolTip(tr("Queue this request (Ctrl+Enter)."));
    buttons->addWidget(m_count);
    buttons->addWidget(m_submitMany);
    buttons->addStretch(1);
    buttons->addWidget(m_submit);
    outer->addLayout(buttons);
    auto *importRow = new QHBoxLayout;
    importRow->addWidget(m_import);
    importRow->addStretch(1);
    outer->addLayout(importRow);

    connect(m_submit, &QPushButton::clicked, this, &ComposerPanel::submit);
    connect(m_submitMany, &QPushButton::clicked, this, &ComposerPanel::submitMany);
    connect(m_import, &QPushButton::clicked, this, &ComposerPanel::chooseImportFile);
    for (const QKeySequence &keys :
         {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)}) {
        auto *shortcut = new QShortcut(keys, this);
        shortcut->setContext(Qt::WidgetWithChildrenShortcut);
        connect(shortcut, &QShortcut::activated, this, &ComposerPanel::submit);
    }
    // A fixed problem disappears as soon as the user fixes it, not only at the next submit.
    connect(m_prompt, &QPlainTextEdit::textChanged, this, [this] {
        if (m_promptError->hasError() && !m_prompt->toPlainText().trimmed().isEmpty())
            m_promptError->setError({});
    });
    connect(m_maxTokens, &QSpinBox::valueChanged, this, [this](int v) {
        if (m_maxTokensError->hasError() && v >= 1)
            m_maxTokensError->setError({});
    });
    connect(m_temperature, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        if (m_temperatureError->hasError() && v >= 0 && v <= 1)
            m_temperatureError->setError({});
    });
}

void ComposerPanel::setDefaultModel(const QString &model)
{
    if (model.isEmpty())
        return;
    if (m_model->findText(model) < 0)
        m_model->insertItem(0, model);
    m_model->setCurrentIndex(m_model->findText(model));
}

QJsonObject ComposerPanel::requestBody() const
{
    QJsonObject body;
    body.insert(QStringLiteral("model"), m_model->currentText().trimmed());
    body.insert(QStringLiteral("max_tokens"), m_maxTokens->value());
    body.insert(QStringLiteral("temperature"), m_temperature->value());
    const QString system = m_system->toPlainText().trimmed();
    if (!system.isEmpty())
        body.insert(QStringLiteral("system"), system);
    if (m_stream->isChecked())
        body.insert(QStringLiteral("stream"), true);
    QJsonObject message;
    message.insert(QStringLiteral("role"), QStringLiteral("user"));
    message.insert(QStringLiteral("content"), m_prompt->toPlainText());
    body.insert(QStringLiteral("messages"), QJsonArray{message});
    return body;
}

int ComposerPanel::priority() const
{
    return m_priority->value();
}

int ComposerPanel::repeatCount() const
{
    return m_count->value();
}

QStringList ComposerPanel::validate()
{
    QStringList problems;
    auto check = [&problems](FieldError *field, bool bad, const QString &message, const QString &name) {
        field->setError(bad ? message : QString());
        if (bad)
            problems << name + QStringLiteral(": ") + message;
    };
    const QString model = m_model->currentText().trimmed();
    check(m_modelError, model.isEmpty(), tr("Choose or type a model id"), QStringLiteral("model"));
    if (!model.isEmpty())
        check(m_modelError, model.contains(QLatin1Char(' ')), tr("A model id has no spaces"),
              QStringLiteral("model"));
    check(m_maxTokensError, m_maxTokens->value() < 1, tr("max_tokens must be at least 1"),
          QStringLiteral("max_tokens"));
    const double t = m_temperature->value();
    check(m_temperatureError, t < 0 || t > 1, tr("Temperature must be between 0.0 and 1.0"),
          QStringLiteral("temperature"));
    check(m_promptError, m_prompt->toPlainText().trimmed().isEmpty(), tr("Write a prompt"),
          QStringLiteral("prompt"));
    return problems;
}

bool ComposerPanel::submitCount(int count)
{
    const QStringList problems = validate();
    if (!problems.isEmpty()) {
        // Take the user to the first field that needs them.
        if (m_promptError->hasError())
            m_prompt->setFocus();
        if (m_temperatureError->hasError())
            m_temperature->setFocus();
        if (m_maxTokensError->hasError())
            m_maxTokens->setFocus();
        if (m_modelError->hasError())
            m_model->setFocus();
        return false;
    }
    Q_EMIT submitRequested(requestBody(), priority(), count);
    return true;
}

bool ComposerPanel::submit()
{
    return submitCount(1);
}

bool ComposerPanel::submitMany()
{
    return submitCount(repeatCount());
}

void ComposerPanel::importFile(const QString &path)
{
    if (!path.isEmpty())
        Q_EMIT importRequested(path);
}

void ComposerPanel::chooseImportFile()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Import a JSONL batch"), QString(),
                                                      tr("JSON Lines (*.jsonl *.ndjson);;All files (*)"));
    importFile(path);
}

} // namespace sluice
