#include "settingsdialog.h"

#include "fielderror.h"
#include "keystore.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>

namespace sluice {

namespace {
const QString kBaseUrlKey = QStringLiteral("connection/base_url");
}

SettingsDialog::SettingsDialog(KeyStore *store, QWidget *parent)
    : QDialog(parent)
    , m_store(store)
{
    setWindowTitle(tr("Sluice settings"));
    setMinimumWidth(520);
    auto *outer = new QVBoxLayout(this);
    auto *form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);

    m_baseUrl = new QLineEdit(this);
    m_baseUrl->setPlaceholderText(QStringLiteral("https://api.anthropic.com"));
    m_baseUrl->setText(storedBaseUrl().toString());
    m_baseUrl->setToolTip(tr("The Messages API is at {base URL}/v1/messages. Use http://127.0.0.1:PORT for a "
                             "local sluice-sim."));
    m_baseUrlError = new FieldError(this);
    auto *urlBox = new QVBoxLayout;
    urlBox->setSpacing(2);
    urlBox->addWidget(m_baseUrl);
    urlBox->addWidget(m_baseUrlError);
    form->addRow(tr("&Endpoint (base URL):"), urlBox);

    m_key = new QLineEdit(this);
    m_key->setEchoMode(QLineEdit::Password);
    m_key->setInputMethodHints(Qt::ImhHiddenText | Qt::ImhNoPredictiveText | Qt::ImhNoAutoUppercase);
    m_key->setPlaceholderText(tr("sk-ant-…"));
    m_key->setToolTip(
        tr("Your Anthropic API key. Kept in %1, never in a settings file.").arg(store->description()));
    m_keyError = new FieldError(this);
    m_keyStatus = new QLabel(tr("Checking %1…").arg(store->description()), this);
    m_keyStatus->setWordWrap(true);
    m_keyStatus->setForegroundRole(QPalette::PlaceholderText);
    m_forget = new QPushButton(tr("&Forget stored key"), this);
    m_forget->setEnabled(false);
    auto *keyBox = new QVBoxLayout;
    keyBox->setSpacing(2);
    keyBox->addWidget(m_key);
    keyBox->addWidget(m_keyError);
    keyBox->addWidget(m_keyStatus);
    auto *forgetRow = new QHBoxLayout;
    forgetRow->addStretch(1);
    forgetRow->addWidget(m_forget);
    keyBox->addLayout(forgetRow);
    form->addRow(tr("API &key:"), keyBox);
    outer->addLayout(form);

    auto *note = new QLabel(tr("With no key, Sluice runs in demo mode against its built-in simulator. "
                               "ANTHROPIC_API_KEY in the environment takes precedence over the stored key."),
                            this);
    note->setWordWrap(true);
    note->setForegroundRole(QPalette::PlaceholderText);
    outer->addWidget(note);
    outer->addStretch(1);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    outer->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::save);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_forget, &QPushButton::clicked, this, &SettingsDialog::forgetKey);
    connect(m_baseUrl, &QLineEdit::textChanged, this, [this] { m_baseUrlError->setError({}); });
    connect(m_key, &QLineEdit::textChanged, this, [this] { m_keyError->setError({}); });

    const QString account = KeyStore::apiKeyAccount();
    connect(m_store, &KeyStore::readFinished, this,
            [this, account](const QString &which, const QString &secret, const QString &error) {
                if (which != account)
                    return;
                if (!error.isEmpty()) {
                    m_keyStatus->setText(tr("Could not read %1: %2").arg(m_store->description(), error));
                    return;
                }
                setKeyStored(!secret.isEmpty()); // the secret itself is dropped here, never shown
            });
    connect(m_store, &KeyStore::writeFinished, this,
            [this, account](const QString &which, const QString &error) {
                if (which != account || !m_saving)
                    return;
                const QString key = m_pendingKey;
                m_pendingKey.clear();
                setBusy(false);
                if (!error.isEmpty()) {
                    m_keyError->setError(tr("Not saved in %1: %2").arg(m_store->description(), error));
                    return;
                }
                m_key->clear();
                setKeyStored(true);
                Q_EMIT apiKeyChanged(key);
                accept();
            });
    connect(m_store, &KeyStore::removeFinished, this,
            [this, account](const QString &which, const QString &error) {
                if (which != account)
                    return;
                if (!error.isEmpty()) {
                    m_keyError->setError(tr("Could not remove the key: %1").arg(error));
                    return;
                }
                setKeyStored(false);
                Q_EMIT apiKeyChanged(QString());
            });
    m_store->read(account);
}

QUrl SettingsDialog::storedBaseUrl(const QUrl &fallback)
{
    const QString text = QSettings().value(kBaseUrlKey).toString();
    return text.isEmpty() || !checkBaseUrl(text).isEmpty() ? fallback : QUrl(text);
}

void SettingsDialog::storeBaseUrl(const QUrl &url)
{
    QSettings().setValue(kBaseUrlKey, url.toString());
}

QString SettingsDialog::checkBaseUrl(const QString &text)
{
    const QUrl url(text.trimmed(), QUrl::StrictMode);
    if (text.trimmed().isEmpty())
        return tr("Enter the API's base URL, e.g. https://api.anthropic.com");
    if (!url.isValid() || (url.scheme() != QLatin1String("https") && url.scheme() != QLatin1String("http")))
        return tr("Must be an http:// or https:// URL");
    if (url.host().isEmpty())
        return tr("The URL has no host");
    if (url.hasQuery() || url.hasFragment())
        return tr("A base URL has no ?query or #fragment");
    return {};
}

void SettingsDialog::setKeyStored(bool stored)
{
    m_keyStored = stored;
    m_forget->setEnabled(stored && !m_saving);
    if (stored)
        m_keyStatus->setText(
            m_store->isPersistent()
                ? tr("A key is stored in %1. Leave the field empty to keep it.").arg(m_store->description())
                : tr("A key is kept in %1. Leave the field empty to keep it.").arg(m_store->description()));
    else
        m_keyStatus->setText(tr("No key stored. A key you save goes to %1.").arg(m_store->description()));
}

void SettingsDialog::setBusy(bool busy)
{
    m_saving = busy;
    m_buttons->setEnabled(!busy);
    m_forget->setEnabled(!busy && m_keyStored);
}

bool SettingsDialog::save()
{
    if (m_saving)
        return false;
    const QString urlProblem = checkBaseUrl(m_baseUrl->text());
    m_baseUrlError->setError(urlProblem);
    const QString key = m_key->text().trimmed();
    const bool keyBad = !key.isEmpty() && (key.contains(QLatin1Char(' ')) || key.size() < 8);
    m_keyError->setError(keyBad ? tr("That does not look like an API key") : QString());
    if (!urlProblem.isEmpty() || keyBad)
        return false;

    const QUrl url(m_baseUrl->text().trimmed());
    if (url != storedBaseUrl(QUrl())) {
        storeBaseUrl(url);
        Q_EMIT baseUrlChanged(url);
    }
    if (key.isEmpty()) {
        accept();
        return true;
    }
    setBusy(true);
    m_pendingKey = key;
    m_store->write(KeyStore::apiKeyAccount(), key);
    return true;
}

void SettingsDialog::forgetKey()
{
    m_store->remove(KeyStore::apiKeyAccount());
}

QString SettingsDialog::keyStatusText() const
{
    return m_keyStatus->text();
}

QString SettingsDialog::keyErrorText() const
{
    return m_keyError->error();
}

QString SettingsDialog::baseUrlErrorText() const
{
    return m_baseUrlError->error();
}

} // namespace sluice
