package lte

import (
	"errors"
	"strings"

	"ltecli/model/tokenizer"
)

// PromptText renders a problem's prompt with userText as the text of its user turn. A
// chat-format problem (Messages, as in verl's parquet prompt column) keeps every message,
// system turn included, with the text of its last user turn replaced by userText, in Qwen's
// chat format; any other problem goes through the prompt template. The plain prompt is
// PromptText(tmpl, p, p.Question); a hinted prompt passes the hinted question, so the two
// differ only inside the user text, for every template and data format.
func PromptText(tmpl *tokenizer.Template, p Problem, userText string) (string, error) {
	if len(p.Messages) == 0 {
		return tmpl.Render(userText)
	}
	last := -1
	for i, m := range p.Messages {
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return "", errors.New("chat prompt has no user message to put the question in")
	}
	msgs := append([]Message(nil), p.Messages...)
	msgs[last].Content = userText
	return ChatPrompt(msgs), nil
}

// ChatPrompt renders chat messages in Qwen's format and opens the assistant turn.
func ChatPrompt(msgs []Message) string {
	var sb strings.Builder
	for _, m := range msgs {
		sb.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	return sb.String() + "<|im_start|>assistant\n"
}
