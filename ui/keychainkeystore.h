#pragma once
// KeychainKeyStore: the KeyStore on the OS keychain, through QtKeychain.
//
// Design note. Each call starts one QKeychain job under the service "Sluice" and forwards its outcome as the
// KeyStore signal. The insecure fallback (a plain-text QSettings file when no keychain is running) stays off:
// with no keychain the job fails with "no keychain backend", the settings dialog says so, and the key is only
// kept for the session. A missing entry on read is not an error (no key stored yet).
//
// Built only when the build defines SLUICE_HAVE_QTKEYCHAIN and links Qt6Keychain::Qt6Keychain (see
// ui/CMakeLists.txt); otherwise KeyStore::create() returns a MemoryKeyStore.
//
// Threading: main thread only.

#include "keystore.h"

#ifdef SLUICE_HAVE_QTKEYCHAIN

namespace sluice {

class KeychainKeyStore : public KeyStore
{
    Q_OBJECT
public:
    explicit KeychainKeyStore(QObject *parent = nullptr, const QString &service = QStringLiteral("Sluice"));

    void read(const QString &account) override;
    void write(const QString &account, const QString &secret) override;
    void remove(const QString &account) override;
    bool isPersistent() const override { return true; }
    QString description() const override;

private:
    QString m_service;
};

} // namespace sluice

#endif // SLUICE_HAVE_QTKEYCHAIN
