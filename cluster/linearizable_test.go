package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

type regInput struct {
	write bool
	value string
}

// registerModel is a single register: writes set it, reads return it.
var registerModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		if in.write {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.write {
			return "write " + in.value
		}
		return "read -> " + output.(string)
	},
}

type regHistory struct {
	mu     sync.Mutex
	ops    []porcupine.Operation
	done   chan struct{}
	wg     sync.WaitGroup
	start  time.Time
	unsure []int // indexes of writes whose outcome is unknown
}

// startRegisterClients runs n clients doing writes (SetProp) and linearizable reads (ReadProp
// through the log) of one key against random live nodes until stop.
func startRegisterClients(c *procCluster, n int) *regHistory {
	h := &regHistory{done: make(chan struct{}), start: time.Now()}
	for cl := range n {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-h.done:
					return
				default:
				}
				live := c.live()
				if len(live) == 0 {
					return
				}
				nd := live[rand.IntN(len(live))]
				write := rand.IntN(2) == 0
				in := regInput{write: write, value: fmt.Sprintf("c%d-%d", cl, i)}
				cmd := Command{Op: OpReadProp, Key: "reg"}
				if write {
					cmd = Command{Op: OpSetProp, Key: "reg", Value: in.value}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				call := time.Since(h.start).Nanoseconds()
				r, err := c.client(nd).Propose(ctx, cmd)
				ret := time.Since(h.start).Nanoseconds()
				cancel()
				h.mu.Lock()
				switch {
				case err == nil && write:
					h.ops = append(h.ops, porcupine.Operation{ClientId: cl, Input: in, Call: call, Output: "", Return: ret})
				case err == nil:
					h.ops = append(h.ops, porcupine.Operation{ClientId: cl, Input: in, Call: call, Output: r.Value, Return: ret})
				case write:
					// Unknown outcome: it may take effect at any later time.
					h.unsure = append(h.unsure, len(h.ops))
					h.ops = append(h.ops, porcupine.Operation{ClientId: cl, Input: in, Call: call, Output: "", Return: -1})
				}
				h.mu.Unlock()
			}
		}()
	}
	return h
}

func (h *regHistory) stop() []porcupine.Operation {
	close(h.done)
	h.wg.Wait()
	end := time.Since(h.start).Nanoseconds() + int64(time.Hour)
	for _, i := range h.unsure {
		h.ops[i].Return = end
	}
	return h.ops
}

func checkLinearizable(t *testing.T, ops []porcupine.Operation) {
	t.Helper()
	reads, writes := 0, 0
	for _, o := range ops {
		if o.Input.(regInput).write {
			writes++
		} else {
			reads++
		}
	}
	res := porcupine.CheckOperationsTimeout(registerModel, ops, 30*time.Second)
	t.Logf("porcupine: %d writes, %d reads: %v", writes, reads, res)
	if res != porcupine.Ok {
		t.Fatalf("history is not linearizable (%v)", res)
	}
	if reads < 10 || writes < 10 {
		t.Fatalf("too little history to mean anything: %d reads, %d writes", reads, writes)
	}
}
