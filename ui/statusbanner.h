#pragma once
// StatusBanner: the strip across the top of the console that says why nothing is going out.
//
// Design note. Three situations stop or change dispatching and must be impossible to miss: a global cooldown
// after a 429 (with its countdown and the limit that tripped), an open or half-open circuit breaker (with its
// reason), and demo mode (requests go to the built-in simulator, not the API). Each is a coloured line of its
// own; a line is hidden when its situation is over, and the whole banner is hidden when all are, so a healthy
// run shows no banner at all. The banner does not run a timer of its own: the owner calls setCooldown() on
// its UI tick with the dispatcher's remaining cooldown, so the countdown shown is always the dispatcher's,
// never a second clock that could drift from it.
//
// Worked example: setCooldown(2.4, "input tokens") shows "Cooling down after a 429 (input tokens limit):
// dispatching resumes in 2.4 s"; setCooldown(0, {}) hides that line. setCircuit(Open, "5 server errors in a
// row") shows "Circuit open: 5 server errors in a row. Nothing is sent until the cool-off ends."
//
// Threading: main thread only (a widget).

#include "circuitbreaker.h"

#include <QFrame>

class QLabel;

namespace sluice {

class StatusBanner : public QFrame
{
    Q_OBJECT
public:
    explicit StatusBanner(QWidget *parent = nullptr);

    // remainingSeconds <= 0 ends the cooldown. `cause`: "requests", "input tokens", "output tokens" or
    // "server" (no local limit was exhausted: the server throttled on its own).
    void setCooldown(double remainingSeconds, const QString &cause);
    void setCircuit(CircuitState state, const QString &reason);
    // Demo mode: `detail` says where the simulator listens, e.g. "http://127.0.0.1:40123".
    void setDemoMode(bool demo, const QString &detail = {});

    QString cooldownText() const;
    QString circuitText() const;
    QString demoText() const;
    bool isCoolingDown() const { return m_cooling; }

private:
    void updateVisibility();

    QLabel *m_cooldown;
    QLabel *m_circuit;
    QLabel *m_demo;
    bool m_cooling = false;
};

} // namespace sluice
