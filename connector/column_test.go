package connector

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestPickColumn(t *testing.T) {
	for _, c := range []struct {
		header []string
		want   string // the column picked; "" for a refusal
		others []string
		err    string
	}{
		{[]string{"Name", "Phone", "Mobile"}, "Mobile", []string{"Phone"}, ""},
		{[]string{"Phone", "Name"}, "Phone", nil, ""},
		{[]string{"Name", "Telefon", "Handy"}, "Handy", []string{"Telefon"}, ""},
		{[]string{"Nom", "Téléphone", "Portable"}, "Portable", []string{"Téléphone"}, ""},
		{[]string{"Nombre", "Móvil"}, "Móvil", nil, ""},
		{[]string{"Nome", "Celular"}, "Celular", nil, ""},
		{[]string{"Nome", "Cellulare"}, "Cellulare", nil, ""},
		{[]string{"Nome", "Telemóvel"}, "Telemóvel", nil, ""},
		{[]string{"Name", "Natel"}, "Natel", nil, ""},
		{[]string{"Name", "Mobil"}, "Mobil", nil, ""},
		// wadeep's own output reads back from its number column.
		{[]string{"number", "country", "status", "whatsapp", "avatar"}, "number", nil, ""},
		{[]string{"Mobile", "Handy"}, "", nil, `columns "Mobile" and "Handy" could each hold the phone numbers; name one with --column`},
		{[]string{"Name", "Email"}, "", nil, "cannot tell which column"},
	} {
		pick, err := pickColumn(Input{Name: "crm.csv"}, c.header, nil)
		if c.err != "" {
			require.ErrorContains(t, err, c.err, "%q", c.header)
			continue
		}
		require.NoError(t, err, "%q", c.header)
		require.Equal(t, c.want, c.header[pick.col], "%q", c.header)
		require.Equal(t, c.others, pick.others, "%q", c.header)
	}
}

func TestPickFieldSkipsTypesThatHoldNoNumber(t *testing.T) {
	// A bool column named whatsapp is never taken for the numbers.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "whatsapp", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "phone", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.BooleanBuilder).Append(true)
	b.Field(1).(*array.StringBuilder).Append("+41798284651")
	rec := b.NewRecordBatch()
	defer rec.Release()
	r, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	defer r.Release()
	plan, err := NewPlan([]Input{{Name: "t", Records: r}}, PlanOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"+41798284651"}, plan.Numbers.Strings())
	require.Equal(t, "phone", plan.Inputs[0].Fields[plan.Inputs[0].Column].Name)

	// A CSV with both: the mobile column, and the other named.
	plan, err = NewPlan([]Input{{Name: "crm.csv", R: strings.NewReader("Name;Phone;Mobile\nA;+41441234567;+41798284651\n")}}, PlanOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"+41798284651"}, plan.Numbers.Strings())
	require.Equal(t, []string{"Phone"}, plan.Inputs[0].Candidates)
}
