#pragma once
// MemoryKeyStore: a KeyStore that keeps secrets in this process only (tests; builds without QtKeychain).
//
// Design note. Same asynchronous contract as the keychain: every outcome is signalled from the event loop
// (a queued call), so code tested against it behaves the same against the real keychain. failNext() makes the
// next job fail, so the error paths of callers can be tested too.
//
// Threading: main thread only.

#include "keystore.h"

#include <QHash>

namespace sluice {

class MemoryKeyStore : public KeyStore
{
    Q_OBJECT
public:
    explicit MemoryKeyStore(QObject *parent = nullptr);

    void read(const QString &account) override;
    void write(const QString &account, const QString &secret) override;
    void remove(const QString &account) override;
    bool isPersistent() const override { return false; }
    QString description() const override;

    // Test helpers: the stored secret (synchronously), and a failure for the next job with this message.
    QString secret(const QString &account) const { return m_secrets.value(account); }
    bool contains(const QString &account) const { return m_secrets.contains(account); }
    void failNext(const QString &error) { m_failNext = error; }

private:
    QString takeFailure();

    QHash<QString, QString> m_secrets;
    QString m_failNext;
};

} // namespace sluice
