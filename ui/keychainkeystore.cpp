#include "keychainkeystore.h"

#include "memorykeystore.h"

#ifdef SLUICE_HAVE_QTKEYCHAIN
#include <qt6keychain/keychain.h>
#endif

namespace sluice {

std::unique_ptr<KeyStore> KeyStore::create(QObject *parent)
{
#ifdef SLUICE_HAVE_QTKEYCHAIN
    return std::make_unique<KeychainKeyStore>(parent);
#else
    return std::make_unique<MemoryKeyStore>(parent);
#endif
}

#ifdef SLUICE_HAVE_QTKEYCHAIN

namespace {

QString jobError(const QKeychain::Job *job)
{
    switch (job->error()) {
    case QKeychain::NoError:
    case QKeychain::EntryNotFound:
        return {};
    case QKeychain::NoBackendAvailable:
        return QObject::tr("no OS keychain is available (%1)").arg(job->errorString());
    case QKeychain::AccessDeniedByUser:
    case QKeychain::AccessDenied:
        return QObject::tr("access to the keychain was denied");
    default:
        return job->errorString();
    }
}

} // namespace

KeychainKeyStore::KeychainKeyStore(QObject *parent, const QString &service)
    : KeyStore(parent)
    , m_service(service)
{}

QString KeychainKeyStore::description() const
{
    return tr("the OS keychain");
}

void KeychainKeyStore::read(const QString &account)
{
    auto *job = new QKeychain::ReadPasswordJob(m_service, this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(account);
    connect(job, &QKeychain::Job::finished, this, [this, account](QKeychain::Job *j) {
        const auto *read = static_cast<QKeychain::ReadPasswordJob *>(j);
        const QString error = jobError(j);
        Q_EMIT readFinished(account, error.isEmpty() ? read->textData() : QString(), error);
    });
    job->start();
}

void KeychainKeyStore::write(const QString &account, const QString &secret)
{
    auto *job = new QKeychain::WritePasswordJob(m_service, this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(account);
    job->setTextData(secret);
    connect(job, &QKeychain::Job::finished, this,
            [this, account](QKeychain::Job *j) { Q_EMIT writeFinished(account, jobError(j)); });
    job->start();
}

void KeychainKeyStore::remove(const QString &account)
{
    auto *job = new QKeychain::DeletePasswordJob(m_service, this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(account);
    connect(job, &QKeychain::Job::finished, this,
            [this, account](QKeychain::Job *j) { Q_EMIT removeFinished(account, jobError(j)); });
    job->start();
}

#endif // SLUICE_HAVE_QTKEYCHAIN

} // namespace sluice
