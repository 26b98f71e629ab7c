#pragma once
// LogModel: the console's log, a bounded list model with timestamps and levels.
//
// Design note. Under load the dispatcher logs a line per 429 or retry, thousands a minute; a log that grew
// for ever would eat memory and slow every view over it. LogModel keeps the newest `capacity` lines (10,000
// by default) in a deque: each append is one beginInsertRows at the end, and when the cap is exceeded the
// oldest lines go with one beginRemoveRows at the front, so attached views and proxies do row-level work
// only, never a reset. Every message passes through redactSecrets() first: an API key that slipped into an
// error text never reaches the screen, the clipboard or a saved log.
//
// Worked example: capacity 3; append a, b, c, d -> rows are b, c, d (one insert of d, one removal of a).
//
// Threading: main thread only (a Qt model).

#include <QAbstractListModel>
#include <QDateTime>

#include <deque>

namespace sluice {

class LogModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum class Level
    {
        Debug,
        Info,
        Warning,
        Error
    };
    enum Role
    {
        TimeRole = Qt::UserRole + 1, // QDateTime (local)
        LevelRole,                   // int(Level)
        MessageRole,                 // QString, redacted
    };
    struct Entry
    {
        QDateTime time;
        Level level = Level::Info;
        QString message;
    };

    explicit LogModel(QObject *parent = nullptr, qsizetype capacity = 10000);

    // Appends one line (time defaults to now). Main thread.
    void append(Level level, const QString &message, const QDateTime &time = {});
    // The dispatcher's level names: "debug", "info", "warning", "error" (anything else is info).
    void append(const QString &level, const QString &message);
    void clear();
    qsizetype capacity() const { return m_capacity; }
    const Entry &entry(int row) const { return m_entries[size_t(row)]; }

    // "sk-ant-api03-abc…" -> "sk-ant-…[redacted]"; also `x-api-key: …` header values.
    static QString redactSecrets(const QString &text);
    static QString levelName(Level level);
    static Level levelFromName(const QString &name);

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    qsizetype m_capacity;
    std::deque<Entry> m_entries; // oldest first
};

} // namespace sluice
