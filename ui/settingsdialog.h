#pragma once
// SettingsDialog: where the API lives (base URL) and the key to it.
//
// Design note. The base URL is an ordinary setting (QSettings "connection/base_url"). The key is not: it goes
// to a KeyStore (the OS keychain) and never to QSettings, a log line or a signal that is logged. The dialog
// never reads the stored key back into the field either: it asks the store whether one exists and says so ("a
// key is stored in the OS keychain; leave the field empty to keep it"), so the key is on screen only while it
// is typed, and even then as a password field. Save writes the URL at once and the key through the store's
// asynchronous job; the dialog closes only when the store confirmed the write, and shows the store's error
// beside the field otherwise (no keychain running, access denied).
//
// Example: type "http://127.0.0.1:8080" and a key, Save -> QSettings connection/base_url =
// "http://127.0.0.1:8080", store->write("anthropic-api-key", key), on writeFinished without error:
// baseUrlChanged(url), apiKeyChanged(key), accept().
//
// Threading: main thread only (a widget).

#include <QDialog>
#include <QUrl>

class QLabel;
class QLineEdit;
class QPushButton;
class QDialogButtonBox;

namespace sluice {

class FieldError;
class KeyStore;

class SettingsDialog : public QDialog
{
    Q_OBJECT
public:
    // `store` must outlive the dialog.
    explicit SettingsDialog(KeyStore *store, QWidget *parent = nullptr);

    // The base URL saved in QSettings, or `fallback` when none is (e.g. Config's baseUrl).
    static QUrl storedBaseUrl(const QUrl &fallback = QUrl(QStringLiteral("https://api.anthropic.com")));
    static void storeBaseUrl(const QUrl &url);
    // Empty if `text` is an http(s) URL with a host; otherwise why not.
    static QString checkBaseUrl(const QString &text);

    QLineEdit *baseUrlEdit() const { return m_baseUrl; }
    QLineEdit *keyEdit() const { return m_key; }
    QPushButton *forgetButton() const { return m_forget; }
    QString keyStatusText() const;
    QString keyErrorText() const;
    QString baseUrlErrorText() const;

public Q_SLOTS:
    // Validates; saves the URL; writes the key if one was typed; accepts when done. Returns false if a field
    // is invalid (nothing saved).
    bool save();
    // Removes the stored key.
    void forgetKey();

Q_SIGNALS:
    void baseUrlChanged(const QUrl &url);
    // The new key ("" after Forget). Connect only to code that uses it; never log it.
    void apiKeyChanged(const QString &key);

private:
    void setKeyStored(bool stored);
    void setBusy(bool busy);

    KeyStore *m_store;
    QLineEdit *m_baseUrl;
    FieldError *m_baseUrlError;
    QLineEdit *m_key;
    FieldError *m_keyError;
    QLabel *m_keyStatus;
    QPushButton *m_forget;
    QDialogButtonBox *m_buttons;
    QString m_pendingKey; // held only between write() and writeFinished, then cleared
    bool m_saving = false;
    bool m_keyStored = false;
};

} // namespace sluice
