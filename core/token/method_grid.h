// Which of an image's tokens a token method keeps, drawn over the image's grid, so that front ends
// can show several methods side by side on the same image.
#pragma once
#include "core/model/vlm.h"
#include "core/token/token_grid.h"
#include "core/token/token_options.h"

namespace ps {

// For a model whose image tokens are its vision patches one for one over a square view (LLaVA-1.5,
// the generative default; Capabilities::image_tokens_follow_vision) and a prompt `in` about one
// image: the tokens method `t` keeps at t.keep, as the model runs it. Scores: a vision-tower
// method's own attention scores; otherwise 1 for a kept token, 0.5 for one merged into a VisionZip
// contextual token (whose group it joins), 0 for a dropped one; `dropped` marks what the language
// model does not see as such (after the method's last drop, for staged methods). The model's token
// hook is as it was afterwards. Throws ps::Error for another kind of model or an unknown method.
TokenGrid method_token_grid(Vlm& model, const VlmInputs& in, const TokenOptions& t);

}  // namespace ps
