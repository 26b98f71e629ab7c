#pragma once
// MainWindow: the Sluice console. For now the frame the panels will live in: title, central area, status bar.

#include <QMainWindow>

namespace sluice {

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
};

} // namespace sluice
