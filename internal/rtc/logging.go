package rtc

import (
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggers sends pion's own log lines to slog at debug level: pion reports
// every closed socket and dropped packet as a warning or an error, which is
// normal life for a test server and noise at info.
type pionLoggers struct{ log *slog.Logger }

func (f pionLoggers) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) Trace(string)                  {}
func (l pionLogger) Tracef(string, ...any)         {}
func (l pionLogger) Debug(string)                  {}
func (l pionLogger) Debugf(string, ...any)         {}
func (l pionLogger) Info(string)                   {}
func (l pionLogger) Infof(string, ...any)          {}
func (l pionLogger) Warn(msg string)               { l.log.Debug(msg, "level", "warn") }
func (l pionLogger) Warnf(format string, a ...any) { l.Warn(fmt.Sprintf(format, a...)) }
func (l pionLogger) Error(msg string)              { l.log.Debug(msg, "level", "error") }
func (l pionLogger) Errorf(format string, a ...any) {
	l.Error(fmt.Sprintf(format, a...))
}
