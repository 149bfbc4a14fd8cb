package gateway

import (
	"io"
	"log/slog"

	dtomodel "github.com/prometheus/client_model/go"
)

type dto = dtomodel.MetricFamily

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
