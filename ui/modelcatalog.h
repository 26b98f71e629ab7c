#pragma once
// ModelCatalog: the Claude model ids the composer offers, kept in exactly one place.
//
// Design note. The list only seeds an editable combo box: any id the API accepts can be typed, so a model
// released after this build still works. Newest and most used first; the configuration's default model is put
// at the top by the composer if it is not in the list.
//
// Example: knownModelIds().first() == "claude-sonnet-4-5".
//
// Threading: reentrant.

#include <QStringList>

namespace sluice {

inline QStringList knownModelIds()
{
    return {
        QStringLiteral("claude-sonnet-4-5"),        QStringLiteral("claude-opus-4-5"),
        QStringLiteral("claude-haiku-4-5"),         QStringLiteral("claude-opus-4-1"),
        QStringLiteral("claude-sonnet-4-0"),        QStringLiteral("claude-opus-4-0"),
        QStringLiteral("claude-3-7-sonnet-latest"), QStringLiteral("claude-3-5-haiku-latest"),
    };
}

} // namespace sluice
