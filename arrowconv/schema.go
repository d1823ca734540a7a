package arrowconv

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Column names of the profile schema. They are stable: pipelines and SQL
// depend on them.
const (
	ColNumber    = "number"
	ColCountry   = "country"
	ColStatus    = "status"
	ColWhatsApp  = "whatsapp"
	ColAvatar    = "avatar"
	ColCategory  = "category"
	ColGender    = "gender"
	ColAgeMin    = "age_min"
	ColAgeMax    = "age_max"
	ColHairColor = "hair_color"
	ColTaskID    = "task_id"
	ColCheckedAt = "checked_at"
)

// Values of the status column.
const (
	StatusChecked = "checked" // the upstream processed the number
	StatusFailed  = "failed"  // the upstream could not process it
)

// MetaPersonalData is the field metadata key set on the columns the upstream
// infers from a profile picture, so that catalogs and reviewers can find them.
const MetaPersonalData = "wadeep.personal_data"

var (
	dictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	inferred   = arrow.NewMetadata([]string{MetaPersonalData}, []string{"inferred_from_picture"})
	checkedTS  = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
)

// fixedFields is the profile schema without pass-through columns, in order.
var fixedFields = []arrow.Field{
	{Name: ColNumber, Type: arrow.BinaryTypes.String},
	{Name: ColCountry, Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: ColStatus, Type: dictString},
	{Name: ColWhatsApp, Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: ColAvatar, Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: ColCategory, Type: dictString, Nullable: true},
	{Name: ColGender, Type: dictString, Nullable: true, Metadata: inferred},
	{Name: ColAgeMin, Type: arrow.PrimitiveTypes.Int16, Nullable: true, Metadata: inferred},
	{Name: ColAgeMax, Type: arrow.PrimitiveTypes.Int16, Nullable: true, Metadata: inferred},
	{Name: ColHairColor, Type: dictString, Nullable: true, Metadata: inferred},
	{Name: ColTaskID, Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: ColCheckedAt, Type: checkedTS, Nullable: true},
}

// Field positions in fixedFields; the builder addresses columns by them.
const (
	idxNumber = iota
	idxCountry
	idxStatus
	idxWhatsApp
	idxAvatar
	idxCategory
	idxGender
	idxAgeMin
	idxAgeMax
	idxHairColor
	idxTaskID
	idxCheckedAt
	numFixed
)

// Schema returns the profile schema: the fixed columns of DESIGN §3, then one
// nullable utf8 column per name in extra (unknown upstream columns passed
// through, already in lower snake case).
func Schema(extra ...string) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(fixedFields)+len(extra))
	fields = append(fields, fixedFields...)
	for _, name := range extra {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}
