//! The server's media commands (`stream-start`, `stream-stop`, `talk-start`, `talk-stop`,
//! `card-list`, `card-play`), carried out by the camera's video and talk tasks. The device loop only acknowledges them;
//! this task does them, in the order they came.

use kankan_protocol::device::CommandKind;
use tokio::sync::mpsc;

use crate::talk::TalkHandle;
use crate::video::VideoHandle;

/// Runs until the device drops its sender.
pub async fn serve(commands: mpsc::UnboundedReceiver<CommandKind>, video: VideoHandle) {
    serve_with_talk(commands, video, None).await;
}

/// [`serve`] for a camera with a speaker and microphone: talk commands go to `talk`.
pub async fn serve_with_talk(
    mut commands: mpsc::UnboundedReceiver<CommandKind>,
    video: VideoHandle,
    talk: Option<TalkHandle>,
) {
    while let Some(kind) = commands.recv().await {
        match kind {
            CommandKind::StreamStart { stream } => {
                tracing::info!(stream, "a viewer is waiting: live upload on");
                video.set_streaming(stream, true);
            }
            CommandKind::StreamStop { stream } => {
                tracing::info!(stream, "no viewer left: live upload off");
                video.set_streaming(stream, false);
            }
            CommandKind::TalkStart | CommandKind::TalkStop => match &talk {
                Some(t) => t.set_open(kind == CommandKind::TalkStart),
                None => tracing::warn!(?kind, "this camera has no talk channel"),
            },
            CommandKind::CardList { .. } | CommandKind::CardPlay { .. } => video.serve_card(kind),
            other => tracing::debug!(?other, "not a media command"),
        }
    }
}
