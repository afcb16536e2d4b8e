package correlate

import (
	"fmt"

	"github.com/flowhunt/flowhunt/internal/detect"
)

// Save records the correlation findings in the findings store of the data
// directory (the one `flowhunt hunt`, `flowhunt findings` and the console
// share), keeping analyst status on re-runs, and updates the flowhunt
// findings GuardDuty corroborated with their raised score and guardduty:
// links. It returns the stored versions of res.Findings.
func Save(fst *detect.FindingStore, res *Result) ([]detect.Finding, error) {
	all := make([]detect.Finding, 0, len(res.Findings)+len(res.Corroborated))
	all = append(all, res.Findings...)
	all = append(all, res.Corroborated...)
	stored, err := fst.Merge(all)
	if err != nil {
		return nil, fmt.Errorf("cannot save correlation findings: %w", err)
	}
	return stored[:len(res.Findings)], nil
}
