#pragma once
// KeyStore: where the API key lives between runs: the OS keychain, never a settings file.
//
// Design note. A key in QSettings ends up in a plain file (~/.config/...), in backups and in screenshots of
// "my settings"; the OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
// encrypts it and asks the user before another program reads it. Keychain access is asynchronous (it may pop
// up an unlock prompt), so KeyStore is a small asynchronous interface: read/write/remove start a job and a
// signal reports the outcome. KeychainKeyStore implements it on QtKeychain (never with its "insecure
// fallback", which would write the key to a settings file); MemoryKeyStore keeps the key for this run only,
// for tests and for builds without QtKeychain. create() picks the real one when the build has it.
//
// Example: store->read(QStringLiteral("api-key")); -> later readFinished("api-key", "sk-ant-…", {}) or, when
// no key was stored, readFinished("api-key", {}, {}) (not an error: there is simply none).
//
// Threading: main thread only; signals are always delivered later from the event loop, never from inside the
// call that started the job, so callers can connect after calling.

#include <QObject>

#include <memory>

namespace sluice {

class KeyStore : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    ~KeyStore() override = default;

    // The account name Sluice stores the Anthropic API key under.
    static QString apiKeyAccount() { return QStringLiteral("anthropic-api-key"); }
    // The OS keychain if this build has QtKeychain, otherwise a MemoryKeyStore.
    static std::unique_ptr<KeyStore> create(QObject *parent = nullptr);

    virtual void read(const QString &account) = 0;
    virtual void write(const QString &account, const QString &secret) = 0;
    virtual void remove(const QString &account) = 0;
    // True if secrets survive a restart (the keychain); false for the in-memory store.
    virtual bool isPersistent() const = 0;
    // For people: "the OS keychain", "memory (this session only)".
    virtual QString description() const = 0;

Q_SIGNALS:
    // `error` is empty on success; a missing entry is success with an empty secret.
    void readFinished(const QString &account, const QString &secret, const QString &error);
    void writeFinished(const QString &account, const QString &error);
    void removeFinished(const QString &account, const QString &error);
};

} // namespace sluice
