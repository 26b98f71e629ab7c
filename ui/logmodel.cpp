#include "logmodel.h"

#include <QColor>
#include <QRegularExpression>

namespace sluice {

LogModel::LogModel(QObject *parent, qsizetype capacity)
    : QAbstractListModel(parent)
    , m_capacity(capacity > 0 ? capacity : 1)
{}

void LogModel::append(Level level, const QString &message, const QDateTime &time)
{
    const int row = int(m_entries.size());
    beginInsertRows({}, row, row);
    m_entries.push_back(
        {time.isValid() ? time : QDateTime::currentDateTime(), level, redactSecrets(message)});
    endInsertRows();
    if (qsizetype(m_entries.size()) > m_capacity) {
        const int excess = int(qsizetype(m_entries.size()) - m_capacity);
        beginRemoveRows({}, 0, excess - 1);
        m_entries.erase(m_entries.begin(), m_entries.begin() + excess);
        endRemoveRows();
    }
}

void LogModel::append(const QString &level, const QString &message)
{
    append(levelFromName(level), message);
}

void LogModel::clear()
{
    if (m_entries.empty())
        return;
    beginRemoveRows({}, 0, int(m_entries.size()) - 1);
    m_entries.clear();
    endRemoveRows();
}

QString LogModel::redactSecrets(const QString &text)
{
    // Anthropic keys start with "sk-ant-"; an x-api-key header may carry any key. Both are cut to a marker.
    static const QRegularExpression key(QStringLiteral("sk-ant-[A-Za-z0-9_\\-]+"));
    static const QRegularExpression header(QStringLiteral("(x-api-key\\s*[:=]\\s*)\\S+"),
                                           QRegularExpression::CaseInsensitiveOption);
    if (!text.contains(QLatin1String("sk-ant-")) &&
        !text.contains(QLatin1String("api-key"), Qt::CaseInsensitive))
        return text;
    QString out = text;
    out.replace(key, QStringLiteral("sk-ant-…[redacted]"));
    out.replace(header, QStringLiteral("\\1[redacted]"));
    return out;
}

QString LogModel::levelName(Level level)
{
    switch (level) {
    case Level::Debug:
        return QStringLiteral("debug");
    case Level::Info:
        return QStringLiteral("info");
    case Level::Warning:
        return QStringLiteral("warning");
    case Level::Error:
        return QStringLiteral("error");
    }
    return QStringLiteral("info");
}

LogModel::Level LogModel::levelFromName(const QString &name)
{
    const QString n = name.trimmed().toLower();
    if (n == QLatin1String("debug"))
        return Level::Debug;
    if (n == QLatin1String("warning") || n == QLatin1String("warn"))
        return Level::Warning;
    if (n == QLatin1String("error") || n == QLatin1String("critical"))
        return Level::Error;
    return Level::Info;
}

int LogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

QVariant LogModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Entry &e = m_entries[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        return QStringLiteral("%1  %2  %3")
            .arg(e.time.toString(QStringLiteral("HH:mm:ss.zzz")),
                 levelName(e.level).toUpper().leftJustified(7), e.message);
    case Qt::ToolTipRole:
        return e.time.toString(Qt::ISODateWithMs) + QLatin1Char('\n') + e.message;
    case Qt::ForegroundRole:
        switch (e.level) {
        case Level::Warning:
            return QColor(0xc6, 0x46, 0x00);
        case Level::Error:
            return QColor(0xe0, 0x1b, 0x24);
        case Level::Debug:
            return QColor(0x80, 0x80, 0x80);
        case Level::Info:
            return {};
        }
        return {};
    case TimeRole:
        return e.time;
    case LevelRole:
        return int(e.level);
    case MessageRole:
        return e.message;
    default:
        return {};
    }
}

QHash<int, QByteArray> LogModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names.insert(TimeRole, "time");
    names.insert(LevelRole, "level");
    names.insert(MessageRole, "message");
    return names;
}

} // namespace sluice
