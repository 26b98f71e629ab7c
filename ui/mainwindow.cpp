#include "mainwindow.h"

#include <QLabel>
#include <QStatusBar>

namespace sluice {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
{
    setWindowTitle(QStringLiteral("Sluice"));
    auto *central = new QWidget(this);
    setCentralWidget(central);
    statusBar()->showMessage(tr("Ready"));
    resize(1280, 800);
}

} // namespace sluice
