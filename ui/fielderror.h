#pragma once
// FieldError: the line of red text that sits beside (or under) a form field and says what is wrong with it.
//
// Design note. Validation belongs next to the field it is about: a dialog box after pressing Submit hides the
// field, and a status-bar message is missed. Every form in the console (composer, limits, settings,
// simulator) places one FieldError per field that can be wrong; it is hidden while the field is fine, so a
// valid form shows no clutter. The red is chosen for the palette in force (a darker red on a light window, a
// lighter one on a dark window), so it stays readable on both.
//
// Example: `m_maxTokensError->setError(tr("must be at least 1"));` shows "⚠ must be at least 1" in red;
// `setError({})` hides it again.
//
// Threading: main thread only (a widget).

#include <QLabel>

namespace sluice {

class FieldError : public QLabel
{
    Q_OBJECT
public:
    explicit FieldError(QWidget *parent = nullptr);
    // Shows `message` (empty hides the label). The same text is the accessible description.
    void setError(const QString &message);
    QString error() const { return m_error; }
    bool hasError() const { return !m_error.isEmpty(); }

private:
    QString m_error;
};

} // namespace sluice
