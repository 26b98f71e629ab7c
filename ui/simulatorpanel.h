#pragma once
// SimulatorPanel: the knobs of the built-in simulator in demo mode: its limits, latency and fault rates.
//
// Design note. Demo mode exists so a user can watch Sluice react: lower the simulator's RPM and see the
// gauges drain and 429s appear for a moment until Sluice learns the new limit from the headers; raise the 529
// rate and see retries, backoff and the circuit breaker. The panel edits a sluice::sim::SimOptions
// (sim/simserver.h: it depends on that struct only, not on the server) and emits optionsApplied(); the main
// window passes them to SimServer::setOptions(), which applies them live. Fields it does not show (seed,
// apiKey, response sizes) are carried over from the options it was given. Fault probabilities are shown in
// percent; their sum must not exceed 100 % (one draw picks at most one fault), which is checked beside the
// fault fields.
//
// Worked example: preset "Tier 1" fills 50 RPM, 30,000 ITPM, 8,000 OTPM, window 1 s; Apply emits those
// options with every other field unchanged. 60 % 529s + 50 % 500s -> "The fault rates add up to 110 %; at
// most 100 %" and nothing is emitted.
//
// Threading: main thread only (a widget).

#include "simserver.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;
class QPushButton;

namespace sluice {

class FieldError;

class SimulatorPanel : public QWidget
{
    Q_OBJECT
public:
    enum class Fault
    {
        P500,
        P529,
        Reset,
        Stall,
        Malformed,
        StreamError
    };
    static constexpr int FaultCount = 6;

    explicit SimulatorPanel(QWidget *parent = nullptr);

    // Fills the fields (no signal); unshown fields of `options` are kept for optionsApplied().
    void setOptions(const sim::SimOptions &options);
    // The fields on top of the options last given (not validated).
    sim::SimOptions options() const;
    // Problems with the fields (empty = valid), shown beside them.
    QStringList validate();

    // Presets, by index in the preset box: 0 = "Tier 1", 1 = "Tier 4", 2 = "Flaky server", 3 = "Unlimited".
    void applyPreset(int index);

    QDoubleSpinBox *requestsBox() const { return m_rpm; }
    QDoubleSpinBox *faultBox(Fault f) const { return m_faults[int(f)]; }

public Q_SLOTS:
    // Validates and emits optionsApplied(options()). Returns whether it emitted.
    bool apply();

Q_SIGNALS:
    void optionsApplied(const sluice::sim::SimOptions &options);

private:
    sim::SimOptions m_base;
    QComboBox *m_preset;
    QDoubleSpinBox *m_rpm;
    QDoubleSpinBox *m_itpm;
    QDoubleSpinBox *m_otpm;
    QDoubleSpinBox *m_window;
    QSpinBox *m_concurrency;
    QDoubleSpinBox *m_latencyMean;
    QDoubleSpinBox *m_latencyJitter;
    QDoubleSpinBox *m_msPerToken;
    QDoubleSpinBox *m_faults[FaultCount];
    FieldError *m_faultError;
    QPushButton *m_apply;
};

} // namespace sluice
