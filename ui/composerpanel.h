#pragma once
// ComposerPanel: where a user writes a prompt and sends it, once or N times, or picks a JSONL batch to
// import.
//
// Design note. The composer builds a Messages request body (model, max_tokens, messages, system, temperature,
// stream) and checks it before anything is queued, showing each problem beside its field, because a request
// that the API would refuse with a 400 only wastes a slot of the rate limit. It knows nothing of the
// dispatcher: it emits submitRequested(body, priority, count) and the main window submits `count` copies.
// "Submit ×N" exists to put load on the limits (watch the gauges and charts react). Ctrl+Enter submits once
// from anywhere in the panel.
//
// Worked example: model "claude-haiku-4-5", max_tokens 256, temperature 0.7, prompt "Hello", stream on, N =
// 20, "Submit ×N" ->
// submitRequested({"model":"claude-haiku-4-5","max_tokens":256,"temperature":0.7,"stream":true,
// "messages":[{"role":"user","content":"Hello"}]}, priority 0, count 20). Empty prompt -> no signal, "Write a
// prompt" under the prompt field.
//
// Threading: main thread only (a widget).

#include <QJsonObject>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace sluice {

class FieldError;

class ComposerPanel : public QWidget
{
    Q_OBJECT
public:
    explicit ComposerPanel(QWidget *parent = nullptr);

    // Puts `model` at the top of the model list (if missing) and selects it.
    void setDefaultModel(const QString &model);

    // The body the fields describe now (not validated).
    QJsonObject requestBody() const;
    int priority() const;
    int repeatCount() const;
    // Checks every field, shows problems beside them; returns the problems (empty = valid).
    QStringList validate();

    // Direct access for tests and the main window's shortcuts.
    QComboBox *modelBox() const { return m_model; }
    QSpinBox *maxTokensBox() const { return m_maxTokens; }
    QDoubleSpinBox *temperatureBox() const { return m_temperature; }
    QPlainTextEdit *systemEdit() const { return m_system; }
    QPlainTextEdit *promptEdit() const { return m_prompt; }
    QSpinBox *priorityBox() const { return m_priority; }
    QCheckBox *streamBox() const { return m_stream; }
    QSpinBox *countBox() const { return m_count; }
    QPushButton *submitButton() const { return m_submit; }
    QPushButton *submitManyButton() const { return m_submitMany; }

public Q_SLOTS:
    // Validates and emits submitRequested(body, priority, 1). Returns whether it emitted.
    bool submit();
    // The same with count = the ×N spin box.
    bool submitMany();
    // Emits importRequested(path) for a file chosen elsewhere (tests, drag and drop, command line).
    void importFile(const QString &path);
    // Asks for a JSONL file with a file dialog, then importFile() (the Import button; File > Import).
    void chooseImportFile();

Q_SIGNALS:
    void submitRequested(const QJsonObject &body, int priority, int count);
    void importRequested(const QString &path);

private:
    bool submitCount(int count);

    QComboBox *m_model;
    FieldError *m_modelError;
    QSpinBox *m_maxTokens;
    FieldError *m_maxTokensError;
    QDoubleSpinBox *m_temperature;
    FieldError *m_temperatureError;
    QPlainTextEdit *m_system;
    QPlainTextEdit *m_prompt;
    FieldError *m_promptError;
    QSpinBox *m_priority;
    QCheckBox *m_stream;
    QSpinBox *m_count;
    QPushButton *m_submit;
    QPushButton *m_submitMany;
    QPushButton *m_import;
};

} // namespace sluice
