package mountinfo

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnescape(t *testing.T) {
	assert.Equal(t, "a b\\c", Unescape(`a\040b\134c`))
	assert.Equal(t, "x\\04", Unescape("x\\04"))
	assert.Equal(t, "plain", Unescape("plain"))
}
