#include "memorykeystore.h"

#include <QMetaObject>

namespace sluice {

MemoryKeyStore::MemoryKeyStore(QObject *parent)
    : KeyStore(parent)
{}

QString MemoryKeyStore::description() const
{
    return tr("memory (this session only)");
}

QString MemoryKeyStore::takeFailure()
{
    QString e;
    std::swap(e, m_failNext);
    return e;
}

void MemoryKeyStore::read(const QString &account)
{
    const QString error = takeFailure();
    const QString secret = error.isEmpty() ? m_secrets.value(account) : QString();
    QMetaObject::invokeMethod(
        this, [this, account, secret, error] { Q_EMIT readFinished(account, secret, error); },
        Qt::QueuedConnection);
}

void MemoryKeyStore::write(const QString &account, const QString &secret)
{
    const QString error = takeFailure();
    if (error.isEmpty())
        m_secrets.insert(account, secret);
    QMetaObject::invokeMethod(
        this, [this, account, error] { Q_EMIT writeFinished(account, error); }, Qt::QueuedConnection);
}

void MemoryKeyStore::remove(const QString &account)
{
    const QString error = takeFailure();
    if (error.isEmpty())
        m_secrets.remove(account);
    QMetaObject::invokeMethod(
        this, [this, account, error] { Q_EMIT removeFinished(account, error); }, Qt::QueuedConnection);
}

} // namespace sluice
