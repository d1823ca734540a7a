// Package deps pins modules that the project is about to use, so go.sum holds them.
package deps

import (
	_ "github.com/apache/arrow-go/v18/arrow/array"
	_ "github.com/apache/arrow-go/v18/arrow/csv"
	_ "github.com/apache/arrow-go/v18/arrow/ipc"
	_ "github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/stretchr/testify/require"
	_ "github.com/xuri/excelize/v2"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/proto"
)
